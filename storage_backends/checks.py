"""Start-up check: the registry storage is reachable and writable (`manage.py check`, gunicorn start)."""

from django.core.checks import Error, register

from registry_site.redaction import redact
from storage_backends import blobstore


@register("storage")
def storage_reachable(app_configs=None, **kwargs):
    try:
        blobstore.check()
    except Exception as exc:  # any backend error is a configuration problem to report, not to crash on
        backend = blobstore.storage().__class__.__name__
        return [
            Error(
                redact(f"registry storage ({backend}) is not usable: {exc}"),
                hint="check STORAGE_PATH, or the bucket/container name and credentials of your flavor",
                id="berth.E001",
            )
        ]
    return []
