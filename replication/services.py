"""Configuring remotes and rules: what the admin, the JSON API and the management commands all call."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils import timezone

from images import durations
from remote import RemoteRegistry
from remote import errors as remote_errors
from replication import matching
from replication.models import MODES, PULL, Remote, ReplicationRule

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_NAMESPACE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*$")


def client(remote, **kwargs):
    return RemoteRegistry(
        remote.url, remote.username or None, remote.get_password(), verify_tls=remote.verify_tls, **kwargs
    )


def validate_remote(name, url):
    if not _NAME.match(name or ""):
        raise ValidationError(f"remote name {name!r}: letters, digits, . _ - (at most 100)")
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"remote URL {url!r}: an http:// or https:// registry address")


def add_remote(name, url, username="", password=None, verify_tls=True):
    validate_remote(name, url)
    if Remote.objects.filter(name=name).exists():
        raise ValidationError(f"a remote named {name!r} exists already")
    remote = Remote(name=name, url=url, username=username or "", verify_tls=verify_tls)
    remote.set_password(password or "")
    remote.save()
    return remote


def remove_remote(name):
    remote = Remote.objects.filter(name=name).first()
    if remote is None:
        raise ValidationError(f"no remote named {name!r}")
    if remote.rules.exists():
        names = ", ".join(remote.rules.values_list("name", flat=True))
        raise ValidationError(f"remote {name!r} is used by rules: {names}; remove them first")
    remote.delete()


def test_remote(remote):
    """Ping the remote with its credentials; returns "ok" or the reason, also kept on the row."""
    reg = client(remote, retries=0, timeout=(5, 10))
    try:
        reg.ping()
        result = "ok"
    except remote_errors.RemoteError as exc:
        result = describe(exc)
    finally:
        reg.close()
    remote.last_checked_at, remote.last_check = timezone.now(), result
    remote.save(update_fields=["last_checked_at", "last_check"])
    return result


def describe(exc):
    """A sentence for an operator: what went wrong talking to the remote."""
    if isinstance(exc, remote_errors.RemoteUnauthorized):
        return f"credentials refused: {exc}"
    if isinstance(exc, remote_errors.RemoteUnavailable):
        return f"unreachable: {exc}"
    if isinstance(exc, remote_errors.RemoteError):
        return str(exc)
    return f"{exc.__class__.__name__}: {exc}"


def validate_rule(data):
    """Raise ValidationError for bad rule fields (a dict of the model's fields)."""
    problems = []
    if not _NAME.match(data.get("name") or ""):
        problems.append(f"rule name {data.get('name')!r}: letters, digits, . _ - (at most 100)")
    if data.get("mode") not in dict(MODES):
        problems.append(f"mode {data.get('mode')!r}: push or pull")
    if not matching.patterns(data.get("repositories")):
        problems.append("repositories: at least one name or glob (e.g. team/*)")
    if data.get("namespace") and not _NAMESPACE.match(data["namespace"]):
        problems.append(f"namespace {data['namespace']!r}: lowercase name components separated by /")
    if data.get("interval"):
        try:
            durations.parse(data["interval"])
        except ValueError as exc:
            problems.append(f"interval: {exc}")
    if data.get("deletes") and data.get("mode") == PULL:
        problems.append("deletes: only push rules propagate deletes")
    if not 1 <= int(data.get("concurrency") or 4) <= 32:
        problems.append("concurrency: 1 to 32")
    if problems:
        raise ValidationError(problems)


def add_rule(name, remote, mode, repositories, **fields):
    remote_row = remote if isinstance(remote, Remote) else Remote.objects.filter(name=remote).first()
    if remote_row is None:
        raise ValidationError(f"no remote named {remote!r} (manage.py remote list)")
    fields = {k: v for k, v in fields.items() if v is not None}
    validate_rule({"name": name, "mode": mode, "repositories": repositories, **fields})
    if ReplicationRule.objects.filter(name=name).exists():
        raise ValidationError(f"a rule named {name!r} exists already")
    return ReplicationRule.objects.create(name=name, remote=remote_row, mode=mode, repositories=repositories, **fields)


def remove_rule(name):
    deleted, _ = ReplicationRule.objects.filter(name=name).delete()
    if not deleted:
        raise ValidationError(f"no rule named {name!r}")
