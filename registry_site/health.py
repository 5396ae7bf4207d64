"""/healthz (the process answers) and /readyz (database, storage and the configured LDAP / OIDC reachable)."""

from django.db import connection
from django.http import JsonResponse

from accounts.checks import statuses as directory_statuses
from registry_site.redaction import redact
from storage_backends import blobstore


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, don't crash: this endpoint exists to say what is wrong
        checks["database"] = redact(f"error: {exc.__class__.__name__}: {exc}")
    try:
        blobstore.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = redact(f"error: {exc.__class__.__name__}: {exc}")
    ready = all(value == "ok" for value in checks.values())
    # LDAP / OIDC down: reported with the reason, but still ready (local accounts, tokens and pulls work).
    sso = directory_statuses()
    status = "ok" if ready and all(v == "ok" for v in sso.values()) else "degraded" if ready else "unavailable"
    return JsonResponse({"status": status, **checks, **sso}, status=200 if ready else 503)
