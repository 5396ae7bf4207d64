"""What starts a run: a push (coalesced per rule and repository), the schedule, an operator; and a
local delete, propagated by push rules that say so."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from images import durations
from remote import errors as remote_errors
from replication import matching, services
from replication.models import PUSH, ReplicationItem, ReplicationRule, ReplicationRun

log = logging.getLogger("berth.replication")


def start(rule, trigger="manual", repository=""):
    """Queue a run of the rule (the waiting one when there is one: a burst of pushes is one run)."""
    waiting = rule.runs.filter(status=ReplicationRun.QUEUED, repository=repository).first()
    if waiting is not None:
        return waiting, False
    run = ReplicationRun.objects.create(rule=rule, trigger=trigger, repository=repository)
    _enqueue(run)
    return run, True


def _enqueue(run):
    from replication import tasks

    try:
        tasks.run_replication.enqueue(run.pk)
    except Exception as exc:  # the backend down: replicate_due picks queued runs up
        log.warning("could not enqueue replication run %s: %s", run.pk, exc)


def pushed(repository_name):
    """After a push commits: a run of each enabled push rule that takes this repository."""
    transaction.on_commit(lambda: _pushed(repository_name))


def _pushed(repository_name):
    for rule in ReplicationRule.objects.filter(enabled=True, mode=PUSH):
        if matching.matches(repository_name, rule.repositories):
            start(rule, "push", repository_name)


def deleted(repository_name, reference):
    """After a delete commits: push rules with `deletes` delete the same at their remote."""
    transaction.on_commit(lambda: _deleted(repository_name, reference))


def _deleted(repository_name, reference):
    from replication import tasks

    for rule in ReplicationRule.objects.filter(enabled=True, mode=PUSH, deletes=True):
        if matching.matches(repository_name, rule.repositories):
            run = ReplicationRun.objects.create(rule=rule, trigger="delete", repository=repository_name)
            ReplicationItem.objects.create(
                run=run,
                source=repository_name,
                tag=reference,
                destination=matching.destination(repository_name, rule.namespace),
            )
            try:
                tasks.propagate_delete.enqueue(run.pk)
            except Exception as exc:
                log.warning("could not enqueue delete propagation %s: %s", run.pk, exc)


def propagate_delete(run_id):
    run = ReplicationRun.objects.select_related("rule__remote").get(pk=run_id)
    item = run.items.get()
    remote = services.client(run.rule.remote)
    try:
        digest = item.tag if item.tag.startswith("sha256:") else remote.head_manifest(item.destination, item.tag).digest
        found = remote.delete_manifest(item.destination, digest)
        item.status, item.digest = ReplicationItem.DONE, digest
        run.status, run.error = ReplicationRun.SUCCEEDED, "" if found else "not at the remote"
    except remote_errors.RemoteNotFound:
        item.status, run.status, run.error = ReplicationItem.SKIPPED, ReplicationRun.SUCCEEDED, "not at the remote"
    except Exception as exc:
        item.status, item.error = ReplicationItem.FAILED, services.describe(exc)
        run.status, run.error = ReplicationRun.FAILED, item.error
    finally:
        remote.close()
    item.attempts += 1
    item.save()
    run.finished_at = timezone.now()
    run.save()
    return run


def due(now=None):
    """Every enabled rule whose interval has passed since its last run, and runs nobody enqueued."""
    now = now or timezone.now()
    started = []
    for rule in ReplicationRule.objects.filter(enabled=True).exclude(interval=""):
        every = durations.parse(rule.interval)
        if every.total_seconds() <= 0:
            continue
        last = rule.runs.exclude(trigger__in=["push", "delete"]).order_by("-created_at").first()
        if last is None or last.created_at <= now - every:
            started.append(start(rule, "schedule")[0])
    stuck = ReplicationRun.objects.filter(status=ReplicationRun.QUEUED, created_at__lt=now - timedelta(minutes=5))
    for run in stuck:
        _enqueue(run)
    return started
