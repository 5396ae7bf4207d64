"""Which names are served from an upstream: the namespace table, cached per process.

The table (a few rows) is read once and re-read every RELOAD_SECONDS, at once after a change made
in this process (`invalidate`), and within STAMP_SECONDS after a change made by another process on
this machine (`changed` touches a stamp file in BERTH_DATA_DIR that `table` looks at). A check is a
monotonic clock read and a comparison (a stat twice a second), so local repositories pay nothing
measurable.
"""

import os
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

RELOAD_SECONDS = 60.0  # changes made on other machines of a fleet (this machine's: the stamp file)
STAMP_SECONDS = 0.5
_DOCKER_HUB_HOSTS = {"registry-1.docker.io", "docker.io", "index.docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class Route:
    proxy: object  # proxy.models.Proxy
    name: str  # the local repository name
    upstream_name: str  # the repository name upstream


class _Table:
    def __init__(self, proxies=()):
        self.namespaces = {p.namespace: p for p in proxies if p.namespace}
        self.mirror = next((p for p in proxies if not p.namespace), None)
        self.empty = not proxies
        self.cached = {}  # repository name -> proxy id, for repositories known to be caches
        self.local = set()  # names known to be pushed (not caches), mirror mode only


_state = {"table": _Table(), "loaded_at": None, "stamp_at": 0.0, "stamp": None, "pending": None}
_lock = threading.Lock()


def invalidate():
    _state["loaded_at"] = None


def _stamp_path():
    from django.conf import settings

    return settings.DATA_DIR / "proxy-table.stamp"


def _stamp():
    try:
        return os.stat(_stamp_path()).st_mtime_ns
    except OSError:
        return None


def changed():
    """After a change of the proxies: this process reloads now, the others on the machine soon.

    A change inside a transaction is seen by this process at once; if that transaction rolls back
    (the admin's error page, a test) the table is read again once the transaction is gone.
    """
    from django.db import connection, transaction

    invalidate()
    if connection.in_atomic_block:
        _state["pending"] = connection.atomic_blocks[0]
        transaction.on_commit(changed)
        return
    _state["pending"] = None
    path = _stamp_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(time.time_ns()))
    except OSError:
        pass  # the other processes reload within RELOAD_SECONDS anyway


def _load():
    from proxy import config
    from proxy.models import CachedRepository, Proxy

    config.sync_mirror_setting()
    proxies = list(Proxy.objects.all())
    table = _Table(proxies)
    if not table.empty:
        rows = CachedRepository.objects.values_list("repository__name", "proxy_id")
        table.cached = dict(rows)
    return table


def _rolled_back():
    from django.db import connection

    pending = _state["pending"]
    return not connection.in_atomic_block or connection.atomic_blocks[0] is not pending


def table():
    if _state["pending"] is not None and _rolled_back():
        _state["pending"] = None
        invalidate()
    now = time.monotonic()
    loaded = _state["loaded_at"]
    if loaded is None or now - _state["stamp_at"] > STAMP_SECONDS or now - loaded > RELOAD_SECONDS:
        with _lock:
            _refresh()
    return _state["table"]


def _refresh():
    """Under the lock: look at the stamp, and read the table again when it moved or is due.

    The check's time is written last: a thread that finds a recent check (and so takes the table without
    the lock) finds the table that check read, never the one from before a change it should see.
    """
    now = time.monotonic()
    loaded = _state["loaded_at"]
    if loaded is not None and now - _state["stamp_at"] <= STAMP_SECONDS and now - loaded <= RELOAD_SECONDS:
        return  # another thread did it while this one waited
    stamp = _stamp()  # before the read: a change made during the read is read again at the next check
    if loaded is None or stamp != _state["stamp"] or now - loaded > RELOAD_SECONDS:
        _state["table"] = _load()
        _state["loaded_at"], _state["stamp"] = now, stamp
    _state["stamp_at"] = now


def upstream_name(proxy, name):
    """Docker Hub keeps official images under library/: `hub/alpine` is `library/alpine` there."""
    host = (urlsplit(proxy.upstream_url).hostname or "").lower()
    if host in _DOCKER_HUB_HOSTS and "/" not in name:
        return f"library/{name}"
    return name


def namespace_route(name, current=None):
    """The route of a name inside a proxy namespace (`ghcr/org/img`), without any query."""
    current = current or table()
    namespace, _, rest = name.partition("/")
    proxy = current.namespaces.get(namespace)
    if proxy is None or not rest:
        return None
    return Route(proxy, name, upstream_name(proxy, rest))


def route(name):
    """The Route for a repository name served from upstream, or None when it is served locally."""
    current = table()
    if current.empty:
        return None
    found = namespace_route(name, current)
    if found is not None or current.mirror is None:
        return found
    mirror = current.mirror
    if name in current.cached:
        return Route(mirror, name, upstream_name(mirror, name)) if current.cached[name] == mirror.pk else None
    if name in current.local:
        return None
    from images.models import Repository

    row = Repository.objects.filter(name=name).values_list("id", "proxy_cache__proxy_id").first()
    if row is not None and row[1] is None:
        current.local.add(name)  # pushed here: always served locally
        return None
    if row is not None and row[1] != mirror.pk:
        return None
    if row is not None:
        current.cached[name] = row[1]
    return Route(mirror, name, upstream_name(mirror, name))


def remember_cached(name, proxy_id):
    table().cached[name] = proxy_id


def is_cache(name):
    """Whether the name is (or would be) a cache, for refusing pushes: exact, with a query."""
    current = table()
    if current.empty:
        return None
    found = namespace_route(name, current)
    if found is not None:
        return found.proxy
    from proxy.models import CachedRepository

    row = CachedRepository.objects.select_related("proxy").filter(repository__name=name).first()
    return row.proxy if row is not None else None
