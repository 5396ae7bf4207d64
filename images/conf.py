"""Access to the namespaced REGISTRY settings dict, with defaults."""

from django.conf import settings

DEFAULTS = {
    "MAX_MANIFEST_BYTES": 4 * 1024 * 1024,
    "IO_BLOCK_SIZE": 1024 * 1024,
    "DEFAULT_PAGE_SIZE": 1000,
    "MAX_PAGE_SIZE": 10000,
    # Answer blob GETs with a 307 to a presigned URL where the storage can make one.
    "STORAGE_REDIRECT": False,
    # Behind nginx: answer blob GETs with X-Accel-Redirect to this internal location
    # (which aliases the storage folder) and let nginx send the file. "" = off.
    "ACCEL_REDIRECT_PREFIX": "",
    # The original registry's standalone mode (no external index).
    "STANDALONE": True,
    # What GET / answers (the original's `issue`).
    "ISSUE": '"docker-registry server"',
}


def registry_setting(key):
    if key not in DEFAULTS:
        raise KeyError(f"unknown REGISTRY setting {key!r}; known: {sorted(DEFAULTS)}")
    return getattr(settings, "REGISTRY", {}).get(key, DEFAULTS[key])
