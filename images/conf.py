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
    # Operations (images/services/gc.py, notifications.py, images/metrics.py).
    "GC_GRACE": "2h",  # default --grace of garbage_collect: nothing younger is collected
    "WEBHOOK_SYNC": False,  # pull bookkeeping in the request thread (tests), not in the pull pool
    "WEBHOOK_WORKERS": 4,  # pull bookkeeping threads per process (deliveries are tasks: images/tasks.py)
    "WEBHOOK_BACKOFF_SECONDS": 1.0,  # first retry delay; doubles per attempt
    "WEBHOOK_BACKOFF_MAX_SECONDS": 3600.0,
    # Background work (images/tasks.py, images/schedule.py, images/task_worker.py).
    "SCHEDULE": {},  # job name -> interval overriding images/schedule.py's default, e.g. {"garbage_collect": "6h"}
    "TASK_HEARTBEAT": "10s",  # workers beat this often; a RUNNING task of a worker silent 3 beats runs again
    "EMBEDDED_WORKER": True,  # `manage.py runserver` runs a worker thread (database backend)
    "METRICS_TOKEN": "",  # when set, /metrics wants `Authorization: Bearer <token>`
    "ACCESS_LOG": False,  # one `berth.access` log record per request (on by default with JSON logs)
    "DB_SERVER_PREPARE": True,  # PREPARE the hot reads once per PostgreSQL session (images/services/prepared.py)
    "READ_CACHE": True,  # the hot reads' rows kept per process, told of changes by the database (read_cache.py)
    "BIND": "",  # the server's listen address; its port goes into webhook events' source.addr
    # Accounts and access (accounts/, images/permissions.py).
    "AUTH": "token",  # "token": docker token auth + Basic; "none": an open registry (trusted networks only)
    "ANONYMOUS_PULL": True,  # anonymous clients may pull public repositories
    "NEW_REPOSITORIES_PUBLIC": True,  # visibility of a repository created by its first push (as Docker Hub)
    "TOKEN_SERVICE": "berth",  # the `service` of the Bearer challenge and the `aud` of issued JWTs
    "TOKEN_ISSUER": "berth",
    "TOKEN_REALM": "",  # the token endpoint's URL in challenges; "" = this host's /v2/token
    "TOKEN_TTL": 300,  # seconds a registry JWT is valid
    "REFRESH_TOKEN_TTL": 90 * 24 * 3600,  # seconds a refresh (docker identity) token is valid
    "V1_TOKEN_TTL": 3600,  # seconds an X-Docker-Token is valid
    "ALLOW_REGISTRATION": False,  # POST /v1/users creates accounts
    "LOGIN_FAILURE_LIMIT": 10,  # failed logins per client address and user name ...
    "LOGIN_FAILURE_WINDOW": 300,  # ... within this many seconds, then 429 until the window passes
}


def registry_setting(key):
    if key not in DEFAULTS:
        raise KeyError(f"unknown REGISTRY setting {key!r}; known: {sorted(DEFAULTS)}")
    return getattr(settings, "REGISTRY", {}).get(key, DEFAULTS[key])
