"""The remote registry client of a proxy (remote/), and remote errors as the registry's own errors."""

import logging
import threading

from images import metrics
from images.errors import BlobUnknown, ManifestUnknown, NameUnknown, TooManyRequests, Unavailable
from remote import RemoteRegistry, errors

logger = logging.getLogger("berth.proxy")
TIMEOUT = (5.0, 30.0)
_clients = {}
_lock = threading.Lock()


def client(proxy):
    """One client per proxy version per process, so its token cache is shared by requests."""
    key = (proxy.pk, proxy.upstream_url, proxy.username, proxy.password_encrypted, proxy.verify_tls)
    with _lock:
        found = _clients.get(proxy.pk)
        if found is None or found[0] != key:
            reg = RemoteRegistry(
                proxy.upstream_url,
                username=proxy.username or None,
                password=proxy.get_password() if proxy.username else None,
                verify_tls=proxy.verify_tls,
                timeout=TIMEOUT,
                retries=2,
                max_retry_after=1,  # a longer Retry-After goes to the client at once (TOOMANYREQUESTS)
            )
            found = _clients[proxy.pk] = (key, reg)
    return found[1]


def translate(exc, route, kind, reference):
    """A RemoteError as the error the client gets (404 stays 404, 429 keeps Retry-After, else 503)."""
    upstream = f"{route.proxy.upstream_url} ({route.upstream_name})"
    count_error(route, exc)
    if isinstance(exc, errors.RemoteNotFound):
        if kind == "blob":
            return BlobUnknown(f"blob unknown to the upstream {upstream}", detail={"digest": reference})
        if kind == "tags":
            return NameUnknown(f"repository unknown to the upstream {upstream}", detail={"name": route.name})
        return ManifestUnknown(f"manifest unknown to the upstream {upstream}", detail={"reference": reference})
    if isinstance(exc, errors.RemoteTooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
        return TooManyRequests(f"the upstream {upstream} is rate limiting, retry later", headers=headers)
    logger.warning("upstream %s failed for %s %s: %s", upstream, kind, reference, exc)
    return Unavailable(f"the upstream {upstream} is unavailable: {exc.__class__.__name__}", detail={kind: reference})


@metrics.never_fails
def count_error(route, exc):
    _counter("berth_proxy_upstream_errors", "Upstream failures of proxy caches", ["namespace", "kind"]).labels(
        namespace=route.proxy.namespace or "(mirror)", kind=exc.__class__.__name__
    ).inc()


@metrics.never_fails
def count(name, help_text, route, value=1):
    _counter(name, help_text, ["namespace"]).labels(namespace=route.proxy.namespace or "(mirror)").inc(value)


_counters = {}


def _counter(name, help_text, labels):
    from prometheus_client import Counter

    with _lock:
        if name not in _counters:
            _counters[name] = Counter(name, help_text, labels)
        return _counters[name]
