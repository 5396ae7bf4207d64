"""Configured secrets never leave the process as text: log records, /readyz and start-up checks.

The values come from the settings (SECRET_KEY, database and cache passwords, storage
credentials, the e-mail password, the metrics token); any of them found in a log message, a
traceback or an error text is replaced with `***`. Request credentials (Authorization
headers, passwords, tokens) are kept out of error reports by accounts/reporting.py.
"""

import functools
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed

MASK = "***"
MIN_LENGTH = 6  # shorter values would mask ordinary words
_SECRET_OPTION = ("secret", "password", "passwd", "key", "token", "credential", "sas", "connection_string")


def _url_password(value):
    try:
        return urlsplit(value).password if isinstance(value, str) and "@" in value else None
    except ValueError:
        return None


def _option_secrets(options):
    for name, value in (options or {}).items():
        if isinstance(value, str) and any(word in name.lower() for word in _SECRET_OPTION):
            yield value
        yield _url_password(value)


def _configured():
    yield settings.SECRET_KEY
    yield getattr(settings, "EMAIL_HOST_PASSWORD", "")
    yield (getattr(settings, "REGISTRY", {}) or {}).get("METRICS_TOKEN")
    yield getattr(settings, "AUTH_LDAP_BIND_PASSWORD", "")  # single sign-on
    yield getattr(settings, "OIDC_RP_CLIENT_SECRET", "")
    for database in settings.DATABASES.values():
        yield database.get("PASSWORD")
    for storage in settings.STORAGES.values():
        yield from _option_secrets(storage.get("OPTIONS"))
    for cache in getattr(settings, "CACHES", {}).values():
        locations = cache.get("LOCATION") or []
        for location in [locations] if isinstance(locations, str) else locations:
            yield _url_password(location)


@functools.cache
def secret_values():
    """The configured secrets, longest first (so a secret containing another is masked whole)."""
    values = {value for value in _configured() if isinstance(value, str) and len(value) >= MIN_LENGTH}
    return tuple(sorted(values, key=len, reverse=True))


def redact(text):
    for value in secret_values():
        if value in text:
            text = text.replace(value, MASK)
    return text


def _forget(**kwargs):
    secret_values.cache_clear()


setting_changed.connect(_forget)


class RedactingFilter(logging.Filter):
    """On a handler: masks configured secrets in the message and the traceback of every record."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed logging call: let the handler report it as logging does
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
