"""Configuring proxies: what the admin, the JSON API and `manage.py proxy_cache` all call."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from images.errors import NameUnknown
from images.models import Repository
from images.services import repositories
from proxy import routing
from proxy.models import PULL_CHOICES, CachedRepository, Proxy

_NAMESPACE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)


def parse_size(text):
    """'10GiB', '500M', '1234' -> bytes (binary multiples, as docker and du print them)."""
    if text in (None, ""):
        return None
    match = _SIZE.match(str(text))
    if not match:
        raise ValidationError(f"not a size: {text!r} (e.g. 10GiB, 500MiB, 1234)")
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**power)


def validate(namespace, upstream_url, pull_access):
    if namespace and not _NAMESPACE.match(namespace):
        raise ValidationError(f"namespace {namespace!r}: one name component (lowercase letters, digits, . _ -)")
    parts = urlsplit(upstream_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"upstream URL {upstream_url!r}: an http:// or https:// registry address")
    if pull_access not in dict(PULL_CHOICES):
        raise ValidationError(f"pull access {pull_access!r}: one of {', '.join(dict(PULL_CHOICES))}")
    if namespace:
        pushed = Repository.objects.filter(namespace=namespace, proxy_cache=None)
        if pushed.exists():
            raise ValidationError(f"namespace {namespace!r} holds pushed repositories; choose another namespace")


def save(namespace, upstream_url, username=None, password=None, **options):
    """Create or update the proxy of `namespace` ("" = the mirror). None leaves a field as it is."""
    namespace = (namespace or "").strip().strip("/").lower()
    proxy = Proxy.objects.filter(namespace=namespace).first() or Proxy(namespace=namespace)
    proxy.upstream_url = (upstream_url or proxy.upstream_url).rstrip("/")
    for key, value in options.items():
        if value is not None:
            setattr(proxy, key, value)
    validate(namespace, proxy.upstream_url, proxy.pull_access)
    if username is not None:
        proxy.username = username
    if password is not None:
        proxy.set_password(password)
    proxy.save()
    routing.changed()
    return proxy


def remove(namespace):
    """Remove the proxy and its cached repositories (GC frees their bytes); returns how many went."""
    namespace = (namespace or "").strip().strip("/").lower()
    proxy = Proxy.objects.filter(namespace=namespace).first()
    if proxy is None:
        raise ValidationError(f"no proxy for namespace {namespace!r}")
    names = list(CachedRepository.objects.filter(proxy=proxy).values_list("repository__name", flat=True))
    for name in names:
        try:
            repositories.delete_repository(name)
        except NameUnknown:
            pass
    proxy.delete()
    routing.changed()
    return len(names)


def listing():
    from proxy import config

    config.sync_mirror_setting()
    return list(Proxy.objects.all())
