"""Berth settings: environment first, embedded defaults under BERTH_DATA_DIR (./var/ in a clone).

Variables (all optional):
  DATABASE_URL       e.g. postgres://user:pass@127.0.0.1:5432/berth
                     (default: SQLite file var/berth.sqlite3)
  STORAGE_PATH       blob folder for the filesystem backend (default var/storage)
  BERTH_DATA_DIR     where the defaults above live (default ./var in a clone; installed:
                     /var/lib/berth for root, else ~/.local/share/berth; registry_site/data_dir.py)
  SECRET_KEY, DEBUG, ALLOWED_HOSTS (comma separated), BERTH_LOG_LEVEL
  REGISTRY_AUTH      "token" (default: docker token auth, Basic for simple clients)
                     or "none" (an open registry: trusted networks only)
  BERTH_ANONYMOUS_PULL, BERTH_NEW_REPOSITORIES_PUBLIC, BERTH_ALLOW_REGISTRATION (booleans),
  BERTH_TOKEN_TTL, BERTH_REFRESH_TOKEN_TTL (seconds), BERTH_TOKEN_SERVICE,
  BERTH_TOKEN_ISSUER, BERTH_TOKEN_REALM, BERTH_LOGIN_FAILURE_LIMIT,
  BERTH_LOGIN_FAILURE_WINDOW (seconds)   see images/conf.py
  BERTH_HTTPS, BERTH_BEHIND_PROXY, BERTH_SSL_REDIRECT, BERTH_HSTS_SECONDS,
  BERTH_HSTS_INCLUDE_SUBDOMAINS, BERTH_HSTS_PRELOAD
                     production over TLS (the "HTTP security" block below)
  BERTH_LOCAL_LOGIN, AUTH_LDAP_*, BERTH_OIDC_*
                     single sign-on (the "single sign-on" block below, README)
  DOCKER_REGISTRY_CONFIG, SETTINGS_FLAVOR
                     the original docker-registry's config.yml and flavor
                     (registry_site/legacy_config.py); they set storage,
                     debug, log level, e-mail on errors, CORS and cache.
  BERTH_TASKS_BACKEND  "database" (default: django-tasks-db, the tables of DATABASE_URL)
                     or "rq" (RQ on Redis at BERTH_TASKS_REDIS_URL); background work below
  BERTH_SCHEDULE_<JOB> interval of a periodic job, e.g. BERTH_SCHEDULE_GARBAGE_COLLECT=6h, 0 = off
                     (images/schedule.py lists the jobs); BERTH_TASKS_HEARTBEAT, BERTH_EMBEDDED_WORKER
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from registry_site import data_dir, legacy_config, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir.resolve()


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY in the environment: a random key generated once into BERTH_DATA_DIR (never a
# value from the source, since it signs registry tokens and sessions; registry_site/secret_key.py).
SECRET_KEY = os.environ.get("SECRET_KEY") or secret_key.load_or_create(DATA_DIR)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h.strip()]

INSTALLED_APPS = [
    "images",  # first: its runserver de-chunks request bodies
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "search",
    "storage_backends",
    "accounts",
    "policies",
    "proxy",  # mirror and pull-through cache (proxy/)
    "activity",
    "replication",  # push to / pull from other registries by rule (replication/)
    "csp",
    "django_tasks",
    "django_tasks_db",  # always installed: one schema whatever the backend
]

MIDDLEWARE = [
    "images.middleware.ObservabilityMiddleware",  # request id, /metrics counters, access log, event context
    "django.middleware.security.SecurityMiddleware",
    # images.browser_middleware: Django's and django-csp's own, skipped for /v2/ and /v1/ requests.
    "images.browser_middleware.CSPMiddleware",  # Content-Security-Policy (below)
    "images.ui.static.StaticFilesMiddleware",  # the catalog's static files, under gunicorn too
    "django.contrib.sessions.middleware.SessionMiddleware",  # by name: `check --deploy` looks for it
    "django.middleware.csrf.CsrfViewMiddleware",  # by name, as sessions
    "images.browser_middleware.AuthenticationMiddleware",
    "activity.context.ActivityMiddleware",  # who acts, for the activity log (no query unless something is recorded)
    "images.browser_middleware.MessageMiddleware",
    "accounts.recheck.DirectorySessionMiddleware",  # a directory user's session ends when the directory says no
    "images.browser_middleware.AdminNulMiddleware",  # a NUL in an admin query is a 400, not a 500
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # by name, as sessions
    "images.middleware.ChangesSettledMiddleware",  # a write answers once this process sees it (read_cache.py)
]

# --- HTTP security (README, Production) ------------------------------------------------------
# Every response: nosniff, Referrer-Policy, Cross-Origin-Opener-Policy (SecurityMiddleware),
# X-Frame-Options (XFrameOptionsMiddleware) and a Content-Security-Policy (django-csp) that the
# catalog, the admin and the browsable API satisfy: no inline script or style anywhere.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Plain HTTP by default (127.0.0.1, `make run`, the e2e tests). BERTH_HTTPS=true for a registry reached
# over TLS: secure cookies, HSTS, http -> https redirects (but not for probes: healthz, readyz, metrics).
# BERTH_BEHIND_PROXY=true: TLS ends at a proxy (deploy/nginx.conf) that sets X-Forwarded-Proto; trust it.
HTTPS = env_bool("BERTH_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("BERTH_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
SECURE_HSTS_SECONDS = int(os.environ.get("BERTH_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("BERTH_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("BERTH_HSTS_PRELOAD", False)
if env_bool("BERTH_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# security.W021 (HSTS preload off) is silenced unless BERTH_HSTS_PRELOAD=true: preloading commits every
# host of the registrable domain to HTTPS for good, a decision for the domain's owner, not for this app.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

ROOT_URLCONF = "registry_site.urls"
WSGI_APPLICATION = "registry_site.wsgi.application"
# Registry URLs are exact; a redirect to add a slash would break clients.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The top-level templates/ folder, through the registry_site/templates link in a clone; the
        # wheel ships it as registry_site/templates (pyproject.toml, package data).
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if "DATABASE_URL" not in os.environ:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
_default_db = f"sqlite:///{DATA_DIR / 'berth.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Persistent connections, checked before reuse: connecting costs more than a manifest GET.
    # (dj_database_url's default is 0, a new connection per request.) One per gunicorn thread.
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BERTH_DB_CONN_MAX_AGE", "600"))
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that polls the socket instead of a SELECT 1.
        DATABASES["default"]["ENGINE"] = "registry_site.postgresql"
else:
    # Persistent too (one per gunicorn thread): a new SQLite connection per request, with its PRAGMAs,
    # cost more than the manifest GET it served (bench/RESULTS.md, "Round 2").
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BERTH_DB_CONN_MAX_AGE", "600"))
    # WAL + immediate transactions: concurrent pushes wait instead of failing. synchronous=FULL: a
    # commit is on disk before the 201 (NORMAL could lose the last pushes on a power cut).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STORAGE_PATH = Path(os.environ.get("STORAGE_PATH", DATA_DIR / "storage")).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "registry": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(STORAGE_PATH), "file_permissions_mode": 0o640},
    },
}

# App settings (see images/conf.py for the keys and their defaults).
REGISTRY = {
    "STORAGE_REDIRECT": env_bool("BERTH_STORAGE_REDIRECT", False),
    "ACCEL_REDIRECT_PREFIX": os.environ.get("BERTH_ACCEL_REDIRECT", ""),
}

# BERTH_DB_SERVER_PREPARE=false behind a pooler that hands one session's statements to another.
REGISTRY["DB_SERVER_PREPARE"] = env_bool("BERTH_DB_SERVER_PREPARE", True)
# BERTH_READ_CACHE=false behind a pooler that does not keep a LISTEN session (images/services/read_cache.py).
REGISTRY["READ_CACHE"] = env_bool("BERTH_READ_CACHE", True)
REGISTRY["BIND"] = os.environ.get("BERTH_BIND", "")  # gunicorn.conf.py reads it too

# Accounts and access (accounts/, images/permissions.py). REGISTRY_AUTH=none makes an open registry.
REGISTRY["AUTH"] = os.environ.get("REGISTRY_AUTH", "token").strip().lower()
if REGISTRY["AUTH"] not in ("token", "none"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"REGISTRY_AUTH must be 'token' or 'none', not {REGISTRY['AUTH']!r}")
REGISTRY["ANONYMOUS_PULL"] = env_bool("BERTH_ANONYMOUS_PULL", True)
REGISTRY["NEW_REPOSITORIES_PUBLIC"] = env_bool("BERTH_NEW_REPOSITORIES_PUBLIC", True)
REGISTRY["ALLOW_REGISTRATION"] = env_bool("BERTH_ALLOW_REGISTRATION", False)
for _key, _var in (
    ("TOKEN_SERVICE", "BERTH_TOKEN_SERVICE"),
    ("TOKEN_ISSUER", "BERTH_TOKEN_ISSUER"),
    ("TOKEN_REALM", "BERTH_TOKEN_REALM"),
):
    if os.environ.get(_var):
        REGISTRY[_key] = os.environ[_var]
for _key, _var in (
    ("TOKEN_TTL", "BERTH_TOKEN_TTL"),
    ("REFRESH_TOKEN_TTL", "BERTH_REFRESH_TOKEN_TTL"),
    ("LOGIN_FAILURE_LIMIT", "BERTH_LOGIN_FAILURE_LIMIT"),
    ("LOGIN_FAILURE_WINDOW", "BERTH_LOGIN_FAILURE_WINDOW"),
):
    if os.environ.get(_var):
        REGISTRY[_key] = int(os.environ[_var])
AUTHENTICATION_BACKENDS = ["accounts.backends.RateLimitedModelBackend"]
# Every password set through berth_user or the admin's forms is checked by Django's validators.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# BERTH_LOCAL_LOGIN=false: local passwords work for superusers only (directory sign-in still does).
BERTH_LOCAL_LOGIN = env_bool("BERTH_LOCAL_LOGIN", True)

# --- single sign-on (README, Single sign-on) ---------------------------------------------------
# LDAP (django-auth-ldap), on when AUTH_LDAP_SERVER_URI is set; its settings keep their names.
AUTH_LDAP_SERVER_URI = os.environ.get("AUTH_LDAP_SERVER_URI", "").strip()
if AUTH_LDAP_SERVER_URI:
    try:
        import ldap
        from django_auth_ldap.config import GroupOfNamesType, GroupOfUniqueNamesType, LDAPSearch, PosixGroupType
    except ImportError as exc:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "AUTH_LDAP_SERVER_URI is set but LDAP support is not installed: pip install -r requirements-ldap.txt "
            "(python-ldap builds against libldap2-dev, libsasl2-dev and gcc) or pip install 'berth[ldap]'"
        ) from exc

    AUTH_LDAP_BIND_DN = os.environ.get("AUTH_LDAP_BIND_DN", "")
    AUTH_LDAP_BIND_PASSWORD = os.environ.get("AUTH_LDAP_BIND_PASSWORD", "")
    AUTH_LDAP_START_TLS = env_bool("AUTH_LDAP_START_TLS", False)
    _ldap_timeout = int(os.environ.get("AUTH_LDAP_TIMEOUT", "5"))
    AUTH_LDAP_CONNECTION_OPTIONS = {ldap.OPT_NETWORK_TIMEOUT: _ldap_timeout, ldap.OPT_TIMEOUT: _ldap_timeout}
    if os.environ.get("AUTH_LDAP_USER_DN_TEMPLATE"):
        AUTH_LDAP_USER_DN_TEMPLATE = os.environ["AUTH_LDAP_USER_DN_TEMPLATE"]
    else:
        AUTH_LDAP_USER_SEARCH = LDAPSearch(
            os.environ.get("AUTH_LDAP_USER_SEARCH_BASE", ""),
            ldap.SCOPE_SUBTREE,
            os.environ.get("AUTH_LDAP_USER_SEARCH_FILTER", "(uid=%(user)s)"),
        )
    AUTH_LDAP_USER_ATTR_MAP = {"first_name": "givenName", "last_name": "sn", "email": "mail"}
    if os.environ.get("AUTH_LDAP_GROUP_SEARCH_BASE"):
        AUTH_LDAP_GROUP_SEARCH = LDAPSearch(
            os.environ["AUTH_LDAP_GROUP_SEARCH_BASE"],
            ldap.SCOPE_SUBTREE,
            os.environ.get("AUTH_LDAP_GROUP_SEARCH_FILTER", "(objectClass=*)"),
        )
        _group_types = {
            "groupOfNames": GroupOfNamesType,
            "groupOfUniqueNames": GroupOfUniqueNamesType,
            "posixGroup": PosixGroupType,
        }
        AUTH_LDAP_GROUP_TYPE = _group_types[os.environ.get("AUTH_LDAP_GROUP_TYPE", "groupOfNames")]()
    AUTHENTICATION_BACKENDS.append("accounts.ldap_directory.DirectoryBackend")

# OpenID Connect (mozilla-django-oidc), on when BERTH_OIDC_ISSUER is set; endpoints from its discovery.
OIDC_ISSUER = os.environ.get("BERTH_OIDC_ISSUER", "").strip()
if OIDC_ISSUER:
    from urllib.parse import urlsplit

    OIDC_RP_CLIENT_ID = os.environ.get("BERTH_OIDC_CLIENT_ID", "")
    OIDC_RP_CLIENT_SECRET = os.environ.get("BERTH_OIDC_CLIENT_SECRET", "")
    OIDC_RP_SIGN_ALGO = os.environ.get("BERTH_OIDC_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = os.environ.get("BERTH_OIDC_SCOPES", "openid email profile")
    OIDC_GROUPS_CLAIM = os.environ.get("BERTH_OIDC_GROUPS_CLAIM", "groups")
    OIDC_USERNAME_CLAIM = os.environ.get("BERTH_OIDC_USERNAME_CLAIM", "preferred_username")
    OIDC_PROVIDER_NAME = os.environ.get("BERTH_OIDC_PROVIDER_NAME") or urlsplit(OIDC_ISSUER).hostname
    OIDC_USE_PKCE = OIDC_USE_NONCE = True
    OIDC_TIMEOUT = int(os.environ.get("BERTH_OIDC_TIMEOUT", "5"))
    OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
    AUTHENTICATION_BACKENDS.append("accounts.oidc.OIDCBackend")
# Error reports (e-mails, debug pages) hide Authorization headers, passwords and tokens.
DEFAULT_EXCEPTION_REPORTER_FILTER = "accounts.reporting.SecretsFilter"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "images.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "images.api.manage.base.BrowsableAPI"],
    # The management API (/api/) sets its own authentication, permissions and error rendering.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Berth management API",
    "DESCRIPTION": "Repositories, tags, manifests, search and storage of a Berth registry. "
    "The registry protocols themselves (/v2/, /v1/) follow the OCI distribution and Docker v1 specs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["images.api.manage.schema.only_management_api"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# Catalog UI: the host name shown in `docker pull` commands (default: the host the visitor used).
REGISTRY_PUBLIC_HOST = os.environ.get("BERTH_PUBLIC_HOST", "")
LOGIN_URL = "/accounts/login/"
# Directory users (LDAP, OpenID Connect) are confirmed again at most this often (seconds) when they use an
# access token, refresh a registry token or browse signed in (accounts/recheck.py). BERTH_OIDC_RECHECK is
# the name it had when only OpenID Connect users were asked.
DIRECTORY_RECHECK = int(os.environ.get("BERTH_DIRECTORY_RECHECK") or os.environ.get("BERTH_OIDC_RECHECK") or "60")
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Static files come from the apps' static folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# Transparent mirror (proxy/config.py), as the original registry's `mirroring` section: MIRROR_SOURCE is the
# upstream (e.g. https://registry-1.docker.io), MIRROR_TAGS_CACHE_TTL how long a cached tag is trusted (s).
PROXY_MIRROR = {
    "SOURCE": os.environ.get("MIRROR_SOURCE", ""),
    "SOURCE_INDEX": os.environ.get("MIRROR_SOURCE_INDEX", ""),
    "TAGS_CACHE_TTL": int(os.environ.get("MIRROR_TAGS_CACHE_TTL") or 172800),
}

LOG_LEVEL = os.environ.get("BERTH_LOG_LEVEL", "INFO").upper()
LEGACY_NOTES = []
if legacy_config.is_requested():
    _legacy = legacy_config.django_settings(legacy_config.load())
    STORAGES["registry"] = _legacy.pop("REGISTRY_STORAGE")
    REGISTRY.update(_legacy.pop("REGISTRY_OVERRIDES"))
    globals().update(_legacy)
    if "CORS_URLS_REGEX" in _legacy:
        INSTALLED_APPS.append("corsheaders")
        MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Configured secrets (SECRET_KEY, passwords, storage keys) are masked in every record.
    "filters": {"redact": {"()": "registry_site.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # 4xx answers are protocol steps (a HEAD miss before every blob upload), not warnings; the
        # access log has them. Errors (5xx) are still logged here.
        "django.request": {"level": "ERROR"},
        "azure": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "swiftclient": {"level": "WARNING"},
    },
}
if globals().get("EMAIL_HOST"):
    # email_exceptions: one e-mail to ADMINS per unhandled exception.
    LOGGING["handlers"]["mail_admins"] = {
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["redact"],
    }
    LOGGING["loggers"]["django.request"] = {"handlers": ["console", "mail_admins"], "level": "ERROR"}

# Structured logs: BERTH_LOG_FORMAT=json prints one JSON object per line (registry_site/jsonlog.py) and
# turns on Berth's own access log (logger `berth.access`, one record per request; BERTH_APP_ACCESS_LOG=0/1).
LOG_FORMAT = os.environ.get("BERTH_LOG_FORMAT", "plain").strip().lower()
LOGGING["formatters"]["json"] = {"()": "registry_site.jsonlog.JsonFormatter"}
if LOG_FORMAT == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"
REGISTRY.setdefault("ACCESS_LOG", env_bool("BERTH_APP_ACCESS_LOG", LOG_FORMAT == "json"))
if os.environ.get("BERTH_GC_GRACE"):
    REGISTRY["GC_GRACE"] = os.environ["BERTH_GC_GRACE"]

# --- Background work (README "Background work"; images/tasks.py, images/schedule.py) ---------
# One backend, chosen here at start-up: the database (django-tasks-db; `manage.py worker`, or the
# dev server's embedded worker) or RQ on Redis (django-tasks-rq; `manage.py worker` runs an RQ worker).
TASKS_BACKEND = os.environ.get("BERTH_TASKS_BACKEND", "database").strip().lower()
if TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASKS_BACKEND == "rq":
    if not os.environ.get("BERTH_TASKS_REDIS_URL"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("BERTH_TASKS_BACKEND=rq needs BERTH_TASKS_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": os.environ["BERTH_TASKS_REDIS_URL"], "DEFAULT_TIMEOUT": 3600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"BERTH_TASKS_BACKEND must be 'database' or 'rq', not {TASKS_BACKEND!r}")
REGISTRY["SCHEDULE"] = {
    _var[len("BERTH_SCHEDULE_") :].lower(): _value
    for _var, _value in os.environ.items()
    if _var.startswith("BERTH_SCHEDULE_") and _value.strip()
}
if os.environ.get("BERTH_TASKS_HEARTBEAT"):
    REGISTRY["TASK_HEARTBEAT"] = os.environ["BERTH_TASKS_HEARTBEAT"]
REGISTRY["EMBEDDED_WORKER"] = env_bool("BERTH_EMBEDDED_WORKER", True)
