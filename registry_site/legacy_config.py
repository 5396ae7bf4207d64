"""The original docker-registry's config.yml: flavors, `<<: *common` merges, `_env:VAR:DEFAULT`.

`load()` returns the resolved flavor as plain dicts; `django_settings()` maps it
onto Berth's settings. Used by settings.py when DOCKER_REGISTRY_CONFIG or
SETTINGS_FLAVOR is set. Problems are start-up errors (ImproperlyConfigured),
never silent.
"""

import os
from pathlib import Path
from urllib.parse import quote

import yaml
from django.core.exceptions import ImproperlyConfigured

BUNDLED = Path(__file__).with_name("legacy_config.yml")
UNSERVABLE = {"glance", "elliptics", "oss"}
BACKENDS = {
    "local": "django.core.files.storage.FileSystemStorage",
    "file": "django.core.files.storage.FileSystemStorage",
    "s3": "storages.backends.s3.S3Storage",
    "azureblob": "storages.backends.azure_storage.AzureStorage",
    "gcs": "storages.backends.gcloud.GoogleCloudStorage",
    "swift": "swift.storage.SwiftStorage",
}


def is_requested(environ=os.environ):
    return bool(environ.get("DOCKER_REGISTRY_CONFIG") or environ.get("SETTINGS_FLAVOR"))


def resolve(value, environ=os.environ):
    """Evaluate `_env:NAME[:DEFAULT]` strings (parsed as YAML, as the original did), recursively."""
    if isinstance(value, dict):
        return {key: resolve(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, environ) for item in value]
    if isinstance(value, str) and value.startswith("_env:"):
        parts = value.split(":", 2)
        raw = environ.get(parts[1], parts[2] if len(parts) > 2 else "")
        try:
            return yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError as exc:
            raise ImproperlyConfigured(f"config value {parts[1]}={raw!r} is not valid YAML: {exc}") from None
    return value


def load(path=None, flavor=None, environ=os.environ):
    """The resolved settings of one flavor of a config.yml file."""
    path = Path(path or environ.get("DOCKER_REGISTRY_CONFIG") or BUNDLED)
    flavor = flavor or environ.get("SETTINGS_FLAVOR") or "dev"
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ImproperlyConfigured(f"DOCKER_REGISTRY_CONFIG: cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ImproperlyConfigured(f"DOCKER_REGISTRY_CONFIG: {path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ImproperlyConfigured(f"DOCKER_REGISTRY_CONFIG: {path} must map flavor names to settings")
    if flavor not in document or not isinstance(document[flavor], dict):
        known = ", ".join(sorted(k for k, v in document.items() if isinstance(v, dict)))
        raise ImproperlyConfigured(f"SETTINGS_FLAVOR {flavor!r} is not in {path} (flavors: {known})")
    conf = resolve(document[flavor], environ)
    conf["flavor"] = flavor
    return conf


def storage_settings(conf):
    """(STORAGES['registry'] entry, storage_path) for the flavor's `storage`."""
    kind = conf.get("storage") or "local"
    if kind in UNSERVABLE:
        raise ImproperlyConfigured(
            f"flavor {conf['flavor']!r} uses storage {kind!r}, which Berth cannot serve; "
            "use local, s3 (also Ceph/MinIO/Swift s3api), azureblob, gcs or swift"
        )
    if kind not in BACKENDS:
        raise ImproperlyConfigured(f"unknown storage {kind!r} in flavor {conf['flavor']!r}")
    path = str(conf.get("storage_path") or "")
    options = _OPTIONS[kind](conf, path)
    return {"BACKEND": BACKENDS[kind], "OPTIONS": options}, path


def _local(conf, path):
    return {"location": str(Path(path or "/tmp/registry").resolve())}


def _s3(conf, path):
    bucket = conf.get("s3_bucket") or conf.get("boto_bucket")
    if not bucket:
        raise ImproperlyConfigured(f"flavor {conf['flavor']!r}: s3_bucket / boto_bucket (AWS_BUCKET) is required")
    secure = _bool(conf.get("s3_secure"), True)
    options = {
        "bucket_name": str(bucket),
        "access_key": conf.get("s3_access_key"),
        "secret_key": conf.get("s3_secret_key"),
        "region_name": conf.get("s3_region"),
        "location": path.strip("/"),
        "use_ssl": secure,
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": True,
    }
    if conf.get("boto_host"):
        scheme = "https" if secure else "http"
        port = f":{conf['boto_port']}" if conf.get("boto_port") else ""
        options["endpoint_url"] = f"{scheme}://{conf['boto_host']}{port}"
    if _bool(conf.get("s3_encrypt"), False):
        options["object_parameters"] = {"ServerSideEncryption": "AES256"}
    return {key: value for key, value in options.items() if value is not None}


def _azure(conf, path):
    options = {
        "account_name": conf.get("azure_storage_account_name"),
        "account_key": conf.get("azure_storage_account_key"),
        "azure_container": conf.get("azure_storage_container") or "registry",
        "azure_ssl": _bool(conf.get("azure_use_https"), True),
        "location": path.strip("/"),
    }
    if not options["account_name"]:
        raise ImproperlyConfigured("flavor azureblob: azure_storage_account_name is required")
    if os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
        options["connection_string"] = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    return options


def _gcs(conf, path):
    if not conf.get("boto_bucket"):
        raise ImproperlyConfigured("flavor gcs: boto_bucket (GCS_BUCKET) is required")
    return {"bucket_name": str(conf["boto_bucket"]), "location": path.strip("/")}


def _swift(conf, path):
    if not conf.get("swift_authurl") or not conf.get("swift_container"):
        raise ImproperlyConfigured("flavor swift: swift_authurl (OS_AUTH_URL) and swift_container are required")
    return {
        "api_auth_url": conf["swift_authurl"],
        "api_username": conf.get("swift_user"),
        "api_key": conf.get("swift_password"),
        "tenant_name": conf.get("swift_tenant_name"),
        "region_name": conf.get("swift_region_name"),
        "container_name": conf["swift_container"],
        "auto_create_container": True,
        "name_prefix": path.strip("/") + "/" if path.strip("/") else "",
    }


_OPTIONS = {"local": _local, "file": _local, "s3": _s3, "azureblob": _azure, "gcs": _gcs, "swift": _swift}


def _bool(value, default):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _as_list(value):
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [item.strip() for item in str(value).split(",") if item.strip()]


def email_settings(conf):
    mail = conf.get("email_exceptions") or {}
    if not mail.get("smtp_host"):
        return {}
    return {
        "EMAIL_HOST": str(mail["smtp_host"]),
        "EMAIL_PORT": int(mail.get("smtp_port") or 25),
        "EMAIL_HOST_USER": str(mail.get("smtp_login") or ""),
        "EMAIL_HOST_PASSWORD": str(mail.get("smtp_password") or ""),
        "EMAIL_USE_TLS": _bool(mail.get("smtp_secure"), False),
        "SERVER_EMAIL": str(mail.get("from_addr") or "docker-registry@localhost"),
        "ADMINS": [("registry", addr) for addr in _as_list(mail.get("to_addr"))],
    }


def cors_settings(conf):
    cors = conf.get("cors") or {}
    origins = _as_list(cors.get("origins"))
    if not origins:
        return {}
    out = {
        "CORS_URLS_REGEX": r"^/(v1|v2)/.*$",
        "CORS_ALLOW_CREDENTIALS": _bool(cors.get("supports_credentials"), False),
    }
    if "*" in origins or _bool(cors.get("send_wildcard"), False):
        out["CORS_ALLOW_ALL_ORIGINS"] = True
    else:
        out["CORS_ALLOWED_ORIGINS"] = origins
    if _as_list(cors.get("methods")):
        out["CORS_ALLOW_METHODS"] = _as_list(cors.get("methods"))
    if _as_list(cors.get("headers")):
        out["CORS_ALLOW_HEADERS"] = [h.lower() for h in _as_list(cors.get("headers"))]
    if _as_list(cors.get("expose_headers")):
        out["CORS_EXPOSE_HEADERS"] = _as_list(cors.get("expose_headers"))
    if cors.get("max_age"):
        out["CORS_PREFLIGHT_MAX_AGE"] = int(cors["max_age"])
    return out


def cache_settings(conf):
    cache = conf.get("cache") or {}
    if not cache.get("host"):
        return {}
    password = f":{quote(str(cache['password']), safe='')}@" if cache.get("password") else ""
    location = f"redis://{password}{cache['host']}:{cache.get('port') or 6379}/{cache.get('db') or 0}"
    return {"CACHES": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}}


def mirror_settings(conf):
    """The `mirroring` section (source, source_index, tags_cache_ttl) -> PROXY_MIRROR (proxy/config.py)."""
    mirror = conf.get("mirroring") or {}
    if not mirror.get("source"):
        return {}
    try:
        ttl = int(mirror.get("tags_cache_ttl") or 172800)
    except (TypeError, ValueError):
        ttl = mirror["tags_cache_ttl"]
        raise ImproperlyConfigured(f"mirroring.tags_cache_ttl must be seconds, not {ttl!r}") from None
    return {
        "PROXY_MIRROR": {
            "SOURCE": str(mirror["source"]),
            "SOURCE_INDEX": str(mirror.get("source_index") or ""),
            "TAGS_CACHE_TTL": ttl,
        }
    }


def django_settings(conf):
    """Map a resolved flavor onto Django/Berth settings (a dict of setting name -> value)."""
    storage, path = storage_settings(conf)
    out = {
        "LEGACY_FLAVOR": conf["flavor"],
        "DEBUG": _bool(conf.get("debug"), False),
        "LOG_LEVEL": str(conf.get("loglevel") or "info").upper(),
        "REGISTRY_STORAGE": storage,
        "REGISTRY_OVERRIDES": {
            "STORAGE_REDIRECT": _bool(conf.get("storage_redirect"), False),
            "STANDALONE": _bool(conf.get("standalone"), True),
            "ISSUE": str(conf.get("issue") or '"docker-registry server"'),
        },
        "LEGACY_NOTES": [],
    }
    if storage["BACKEND"].endswith("FileSystemStorage"):
        out["STORAGE_PATH"] = Path(storage["OPTIONS"]["location"])
    if conf.get("search_backend") or conf.get("sqlalchemy_index_database"):
        out["LEGACY_NOTES"].append(
            "search_backend / sqlalchemy_index_database are accepted and ignored: "
            "search is always on and lives in the main database (DATABASE_URL)"
        )
    for extra in (email_settings(conf), cors_settings(conf), cache_settings(conf), mirror_settings(conf)):
        out.update(extra)
    return out
