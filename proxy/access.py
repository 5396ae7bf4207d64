"""Who may pull through a proxy (Proxy.pull_access), and refusing pushes into caches."""

from images.conf import registry_setting
from images.errors import Denied
from proxy import routing

PULL = "pull"
PULL_PUBLIC, PULL_AUTHENTICATED = "public", "authenticated"  # proxy.models (not imported: loaded early)


def widen(principal, name, actions):
    """`actions` plus pull where the proxy's policy gives it (for names not yet cached, or caches)."""
    if PULL in actions or routing.table().empty:
        return actions
    found = routing.route(name)  # None for a pushed repository (remembered per process)
    if found is None or not _may_pull(found.proxy, principal):
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
