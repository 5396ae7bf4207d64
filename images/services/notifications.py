"""Webhook notifications on push, pull and delete, in the reference registry's envelope.

Receivers written for distribution's notifications keep working: each POST
carries `Content-Type: application/vnd.docker.distribution.events.v1+json` and

    {"events": [{"id", "timestamp", "action": "push|pull|delete",
                 "target": {"mediaType", "size", "digest", "length", "repository", "url", "tag"},
                 "request": {"id", "addr", "host", "method", "useragent"},
                 "actor": {"name": request.actor} if request.actor else {}, "source": {"addr", "instanceID"}}]}

Events are emitted for manifests (a push is a manifest PUT, a pull a manifest
GET, a delete a manifest or tag delete), not for every layer.

Delivery (§7: side effects after commit):
1. `emit` writes one WebhookDelivery row per matching endpoint in the
   transaction of the event itself: a rolled-back push notifies nobody.
2. On commit each row becomes a `deliver_webhook` task (images/tasks.py) on the
   configured backend (database or RQ), run by a worker. The task claims the row
   (pending -> delivering, with a lease of twice the endpoint's timeout), POSTs it
   and records the outcome: delivered, or pending again with exponential backoff
   (WEBHOOK_BACKOFF_SECONDS doubling, capped), and the task is enqueued again for
   that time; or failed after the endpoint's max_attempts. Every attempt is logged.
3. The periodic `webhook_retries` job (images/schedule.py, every minute) and
   `manage.py deliver_notifications` deliver whatever is due (work the queue
   lost, a worker killed mid-attempt): the claim is a conditional UPDATE, so
   they never race a task into a double delivery, and an expired lease makes a
   row due again.
Pulls have no transaction: their bookkeeping (last pull time, the rows of
`pull` events) runs in a small thread pool of the serving process, off the
request path (`drain` waits for it).
With `secret` set, `X-Berth-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

import contextvars
import fnmatch
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from images import metrics
from images.conf import registry_setting
from images.models import Webhook, WebhookDelivery

EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
ACTIONS = ("push", "pull", "delete")
INSTANCE_ID = str(uuid.uuid4())
MAX_ERROR = 2000
log = logging.getLogger("berth.notifications")


@dataclass
class RequestInfo:
    """What an event says about the HTTP request behind it (set per request by images.middleware;
    `actor` once the registry views know who is calling). `host_of`, when given, tells the host on first
    use (most requests never build an event: validating the Host header for each cost about 2 % of a
    manifest GET)."""

    id: str = ""
    addr: str = ""
    method: str = ""
    useragent: str = ""
    scheme: str = "http"
    actor: str = ""
    host_of: object = None
    _host: str = None

    @property
    def host(self):
        if self._host is None:
            self._host = self.host_of() if self.host_of is not None else ""
        return self._host


def note_actor(name):
    """The authenticated caller of this request, for the events it causes (distribution's actor.name)."""
    info = current_request.get()
    if info is not None:
        info.actor = name or ""


current_request = contextvars.ContextVar("berth_request", default=None)


# --- events --------------------------------------------------------------------------------


def wants(webhook, action, repository):
    if not webhook.enabled:
        return False
    if webhook.events and action not in webhook.events:
        return False
    patterns = [p.strip() for p in (webhook.repositories or "").split(",") if p.strip()]
    return not patterns or any(fnmatch.fnmatchcase(repository, p) for p in patterns)


def _source_addr():
    bind = registry_setting("BIND")
    port = bind.rsplit(":", 1)[-1] if ":" in bind else ""
    host = socket.gethostname()
    return f"{host}:{port}" if port else host


def build_event(action, repository, *, digest, media_type="", size=0, tag="", request=None, now=None):
    """One event of the envelope, as distribution writes it."""
    request = request or current_request.get() or RequestInfo()
    now = now or timezone.now()
    host = request.host or getattr(settings, "REGISTRY_PUBLIC_HOST", "")
    target = {
        "mediaType": media_type,
        "size": size,
        "digest": digest,
        "length": size,
        "repository": repository,
        "url": f"{request.scheme}://{host}/v2/{repository}/manifests/{digest}" if host and digest else "",
    }
    if tag:
        target["tag"] = tag
    return {
        "id": str(uuid.uuid4()),
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": target,
        "request": {
            "id": request.id,
            "addr": request.addr,
            "host": request.host,
            "method": request.method,
            "useragent": request.useragent,
        },
        "actor": {"name": request.actor} if request.actor else {},
        "source": {"addr": _source_addr(), "instanceID": INSTANCE_ID},
    }


def envelope(*events):
    return {"events": list(events)}


def emit(action, repository, manifest, tag=""):
    """Record a push or delete of `manifest` inside its transaction: metrics after commit, one delivery per
    matching webhook, written in the same transaction and sent after commit."""
    assert action in ACTIONS, action
    transaction.on_commit(lambda: metrics.count_action(action, repository))
    hooks = [h for h in Webhook.objects.filter(enabled=True) if wants(h, action, repository)]
    if not hooks:
        return []
    event = build_event(
        action, repository, digest=manifest.digest, media_type=manifest.media_type, size=manifest.size, tag=tag
    )
    return _enqueue(hooks, action, repository, event)


def emit_many(action, repository, targets):
    """`emit` for many (manifest, tag) pairs of one repository (retention's deletes): the webhooks are read once."""
    assert action in ACTIONS, action
    count = len(targets)
    transaction.on_commit(lambda: [metrics.count_action(action, repository) for _ in range(count)])
    hooks = [h for h in Webhook.objects.filter(enabled=True) if wants(h, action, repository)]
    for manifest, tag in targets if hooks else ():
        event = build_event(
            action, repository, digest=manifest.digest, media_type=manifest.media_type, size=manifest.size, tag=tag
        )
        _enqueue(hooks, action, repository, event)


HOOK_CACHE_SECONDS = 5.0
_hook_cache = {"at": -HOOK_CACHE_SECONDS, "hooks": []}


def _enabled_hooks_cached():
    """Pulls are frequent: the enabled webhooks are re-read at most every HOOK_CACHE_SECONDS per process."""
    now = time.monotonic()
    if now - _hook_cache["at"] >= HOOK_CACHE_SECONDS:
        _hook_cache["hooks"] = list(Webhook.objects.filter(enabled=True))
        _hook_cache["at"] = now
    return _hook_cache["hooks"]


def _no_hooks_for_sure():
    """True while the cache is fresh and holds no enabled webhook (no query)."""
    return time.monotonic() - _hook_cache["at"] < HOOK_CACHE_SECONDS and not _hook_cache["hooks"]


def clear_cache():
    _hook_cache["at"] = -HOOK_CACHE_SECONDS


def _still_enabled(hooks):
    """The cached webhooks that still exist and are enabled: another process may have deleted one since this
    one read them, and a delivery row for it would fail the insert (its foreign key) with every other
    webhook's row for the same pull. Runs off the request path, and only when there is a webhook to tell."""
    if not hooks:
        return hooks
    live = set(Webhook.objects.filter(pk__in=[hook.pk for hook in hooks], enabled=True).values_list("pk", flat=True))
    if len(live) < len(hooks):
        clear_cache()
    return [hook for hook in hooks if hook.pk in live]


def emit_pull(repository, manifest, tag="", also=None):
    """A pull (no transaction to join): count it now; `also(repository)` and writing the delivery rows run in
    the background pool (inline with WEBHOOK_SYNC), the event built from this request; the rows then go to
    the task backend like any other. With nothing to do (no `also`, no webhook) a pull costs the count and
    nothing more."""
    metrics.count_action("pull", repository)
    if also is None and _no_hooks_for_sure():
        return
    request, now = current_request.get() or RequestInfo(), timezone.now()

    def work():
        if also is not None:
            also(repository)
        hooks = _still_enabled([h for h in _enabled_hooks_cached() if wants(h, "pull", repository)])
        if hooks:
            event = build_event(
                "pull",
                repository,
                digest=manifest.digest,
                media_type=manifest.media_type,
                size=manifest.size,
                tag=tag,
                request=request,
                now=now,
            )
            _enqueue(hooks, "pull", repository, event)

    if registry_setting("WEBHOOK_SYNC"):
        work()
    else:
        _executor().submit(_in_background, work)


def _enqueue(hooks, action, repository, event):
    with transaction.atomic():
        rows = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                webhook=hook,
                event_id=event["id"],
                action=action,
                repository=repository,
                payload=envelope(event),
                next_attempt_at=timezone.now(),
            )
            for hook in hooks
        )
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: dispatch(ids))
    return ids


# --- delivery ------------------------------------------------------------------------------

_pool = None
_pool_lock = threading.Lock()


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=registry_setting("WEBHOOK_WORKERS"), thread_name_prefix="berth-webhooks"
            )
        return _pool


def drain():
    """Wait for the background pool's queued and running work, then let it go (the next submit starts
    a new one). The tests call it after each test, so no background query outlives its test."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def dispatch(ids):
    """Hand these rows to the task backend (called after the commit that wrote them)."""
    from images import tasks

    for delivery_id in ids:
        try:
            tasks.deliver_webhook.enqueue(delivery_id)
        except Exception as exc:  # the backend is down: the webhook_retries job finds the row due
            log.warning("webhook delivery %s not enqueued: %s: %s", delivery_id, exc.__class__.__name__, exc)


def deliver(delivery_id):
    """The deliver_webhook task: one attempt, then the next one enqueued for its time (or the lease's end,
    when another worker holds it: e.g. one killed mid-attempt). Returns the row's status."""
    from images import tasks

    status = attempt(delivery_id)
    row = WebhookDelivery.objects.filter(pk=delivery_id).values("status", "next_attempt_at", "lease_until").first()
    if row is None:
        return None
    if status == WebhookDelivery.PENDING and row["next_attempt_at"]:
        tasks.enqueue_later(tasks.deliver_webhook, row["next_attempt_at"], delivery_id)
    elif status is None and row["status"] == WebhookDelivery.DELIVERING and row["lease_until"]:
        tasks.enqueue_later(tasks.deliver_webhook, row["lease_until"] + timedelta(seconds=1), delivery_id)
    return row["status"]


def _in_background(work):
    close_old_connections()
    try:
        work()
    except Exception as exc:  # a pool thread never dies silently, and never takes the process down
        log.warning("background notification work failed: %s: %s", exc.__class__.__name__, exc)
    finally:
        connection.close()


def backoff(attempts):
    """Seconds before retry number `attempts` (1 = the first retry): doubling, capped."""
    base = float(registry_setting("WEBHOOK_BACKOFF_SECONDS"))
    return min(base * (2 ** max(attempts - 1, 0)), float(registry_setting("WEBHOOK_BACKOFF_MAX_SECONDS")))


def _due(now):
    return Q(status=WebhookDelivery.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)) | Q(
        status=WebhookDelivery.DELIVERING, lease_until__lt=now
    )


def _sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(webhook, body):
    """POST the body; (response code or None, error text or "")."""
    headers = {"Content-Type": EVENTS_MEDIA_TYPE, "User-Agent": "berth-notifications/1.0"}
    headers.update({str(k): str(v) for k, v in (webhook.headers or {}).items()})
    if webhook.secret:
        headers["X-Berth-Signature"] = _sign(webhook.secret, body)
    request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=webhook.timeout_seconds) as response:
            response.read(65536)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}"


def attempt(delivery_id, now=None):
    """Claim one due delivery and send it; returns its new status, or None when it wasn't due."""
    now = now or timezone.now()
    timeout = WebhookDelivery.objects.filter(pk=delivery_id).values_list("webhook__timeout_seconds", flat=True)
    timeout = next(iter(timeout), None)
    if timeout is None:
        return None
    lease = now + timedelta(seconds=2 * timeout + 1)  # one POST: connect and read, each within the timeout
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id)
        .filter(_due(now))
        .update(status=WebhookDelivery.DELIVERING, attempts=F("attempts") + 1, last_attempt_at=now, lease_until=lease)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    hook = delivery.webhook
    code, error = post(hook, json.dumps(delivery.payload).encode())
    ok = code is not None and 200 <= code < 300
    fields = {"response_code": code, "error": error[:MAX_ERROR], "lease_until": None}
    if ok:
        fields.update(status=WebhookDelivery.DELIVERED, delivered_at=timezone.now(), next_attempt_at=None)
        outcome = "delivered"
    elif delivery.attempts >= hook.max_attempts or not hook.enabled:
        fields.update(status=WebhookDelivery.FAILED, next_attempt_at=None)
        outcome = "failed"
    else:
        delay = backoff(delivery.attempts)
        fields.update(status=WebhookDelivery.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=delay))
        outcome = "retry"
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)
    metrics.add(metrics.WEBHOOKS, (outcome,))
    if not ok:
        log.warning(
            "webhook %s: delivery %s attempt %s: %s",
            hook.name,
            delivery_id,
            delivery.attempts,
            error or code,
            extra={"webhook": hook.name, "delivery": delivery_id, "outcome": outcome},
        )
    return fields["status"]


def deliver_due(limit=1000, now=None):
    """Attempt every delivery that is due (pending and its time has come, or with an expired lease)."""
    now = now or timezone.now()
    ids = list(WebhookDelivery.objects.filter(_due(now)).order_by("created_at").values_list("pk", flat=True)[:limit])
    counts = {"delivered": 0, "pending": 0, "failed": 0, "skipped": 0}
    for delivery_id in ids:
        status = attempt(delivery_id, now=now)
        key = {
            WebhookDelivery.DELIVERED: "delivered",
            WebhookDelivery.PENDING: "pending",
            WebhookDelivery.FAILED: "failed",
        }.get(status, "skipped")
        counts[key] += 1
    return counts


def retry_now(queryset):
    """Make failed or waiting deliveries due again (admin action); returns how many."""
    count = queryset.exclude(status=WebhookDelivery.DELIVERED).update(
        status=WebhookDelivery.PENDING, next_attempt_at=timezone.now(), lease_until=None
    )
    ids = list(queryset.filter(status=WebhookDelivery.PENDING).values_list("pk", flat=True))
    transaction.on_commit(lambda: dispatch(ids))
    return count
