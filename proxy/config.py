"""MIRROR_SOURCE (environment or the legacy config.yml `mirroring` section) -> the mirror's Proxy row.

settings.PROXY_MIRROR is read once per process, on the first look at the namespace table; a
configured source then owns the mirror row (the admin shows it; the next start-up re-applies the
setting). Without MIRROR_SOURCE the mirror is whatever the admin, API or command configured.
"""

import logging

from django.conf import settings

logger = logging.getLogger("berth.proxy")
_synced = []


def mirror_setting():
    conf = getattr(settings, "PROXY_MIRROR", None) or {}
    return {
        "source": (conf.get("SOURCE") or "").strip(),
        "source_index": (conf.get("SOURCE_INDEX") or "").strip(),
        "tags_cache_ttl": int(conf.get("TAGS_CACHE_TTL") or 172800),
    }


def sync_mirror_setting():
    if _synced:
        return
    _synced.append(True)
    conf = mirror_setting()
    if not conf["source"]:
        return
    from proxy.models import Proxy

    Proxy.objects.update_or_create(
        namespace="",
        defaults={"upstream_url": conf["source"], "tag_ttl": conf["tags_cache_ttl"], "from_settings": True},
    )
    logger.info("mirror of %s (tags trusted %ss), from MIRROR_SOURCE", conf["source"], conf["tags_cache_ttl"])
    if conf["source_index"]:
        logger.info("MIRROR_SOURCE_INDEX is accepted; search answers from the cached repositories")
