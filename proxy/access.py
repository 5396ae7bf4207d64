"""Who may pull through a proxy (Proxy.pull_access), and refusing pushes into caches."""

from images.conf import registry_setting
from images.errors import Denied
from proxy import routing

PULL = "pull"
PULL_PUBLIC, PULL_AUTHENTICATED = "public", "authenticated"  # proxy.models (not imported: loaded early)


def widen(principal, name, actions, exists):
    """`actions` plus pull where the proxy's policy gives it (for names not yet cached, or caches)."""
    if PULL in actions:
        return actions
    current = routing.table()
    if current.empty:
        return actions
    found = routing.namespace_route(name, current)
    proxy = found.proxy if found else None
    if proxy is None and current.mirror is not None and (not exists or name in current.cached):
        proxy = current.mirror if current.cached.get(name, current.mirror.pk) == current.mirror.pk else None
    if proxy is None or not _may_pull(proxy, principal):
        return actions
    return actions | {PULL}


def _may_pull(proxy, principal):
    from images.permissions import split_principal

    user, token = split_principal(principal)
    signed_in = user is not None and getattr(user, "is_authenticated", False) and user.is_active
    if token is not None and not token.is_active:
        signed_in = False
    if proxy.pull_access == PULL_PUBLIC:
        return signed_in or bool(registry_setting("ANONYMOUS_PULL"))
    return proxy.pull_access == PULL_AUTHENTICATED and signed_in


def refuse_push(name):
    """DENIED for a push into a cached repository or a proxy namespace (nothing to do elsewhere)."""
    proxy = routing.is_cache(name)
    if proxy is not None:
        raise Denied(
            f"{name} is a cache of {proxy.upstream_url}: push to the upstream, or to a repository outside the cache",
            detail={"name": name, "upstream": proxy.upstream_url},
        )
