"""{% cache_badge repo %}: "cache of <upstream>" next to a cached repository's name (no query)."""

from django import template
from django.template.loader import render_to_string

from proxy import routing

register = template.Library()


def upstream_of(name):
    current = routing.table()
    proxy_id = current.cached.get(name)
    if proxy_id is None:
        return None
    for proxy in [current.mirror, *current.namespaces.values()]:
        if proxy is not None and proxy.pk == proxy_id:
            cached_name = routing.upstream_name(proxy, name[len(proxy.namespace) + 1 :] if proxy.namespace else name)
            return f"{proxy.upstream_url}/{cached_name}"
    return None


@register.simple_tag
def cache_badge(repo):
    upstream = upstream_of(getattr(repo, "name", repo))
    return render_to_string("proxy/_cache_badge.html", {"upstream": upstream}) if upstream else ""
