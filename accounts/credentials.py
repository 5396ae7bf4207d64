"""Check a user name and a password (or an access token) and count failures.

Every login path (the token endpoint, Basic auth on registry calls, /v1/users,
the UI sign-in form) goes through `check_login`, which refuses with
TooManyRequests once a client address has failed LOGIN_FAILURE_LIMIT times for a
user name within LOGIN_FAILURE_WINDOW seconds. The failures are counted in the
database (LoginFailure), so every gunicorn worker and every instance sharing the
database counts the same ones (with a per-process cache, each worker allowed the
limit anew).

Password hashing is slow on purpose; clients that send Basic auth on every
registry call would pay it per request, so a successful check is remembered
for a minute under a key derived from the credentials and the stored password
hash (a password change or a revoked token misses it). A directory (LDAP) user, who has no local
password, is checked against the directory every time, through django.contrib.auth.authenticate (a
bind costs less than the hashing the memory saves): a user disabled there is refused at once.
"""

import base64
import binascii
import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db import connection
from django.db.models import Value
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import principals, recheck, tokens
from accounts.models import AccessToken, LoginFailure
from activity import recorder
from images.conf import registry_setting
from images.errors import TooManyRequests, Unauthorized
from images.services import prepared

logger = logging.getLogger("berth.auth")
REMEMBER_SECONDS = 60
LAST_USED_RESOLUTION_SECONDS = 60


def client_address(request):
    meta = getattr(request, "META", {}) or {}
    return meta.get("REMOTE_ADDR", "") or "unknown"


def _failure_key(address, username):
    digest = hashlib.sha256(f"{address}\0{(username or '').lower()}".encode()).hexdigest()[:32]
    return f"berth:login-failures:{digest}"


# Asked at every login (each Basic call): compiled once per process (images/services/prepared.py).
_LOCKED_OUT = prepared.Prepared(
    lambda key, now, limit: LoginFailure.objects.filter(
        key=key, expires_at__gt=Value(now), count__gte=Value(limit)
    ).values_list("pk")[:1],
    "key",
    "now",
    "limit",
)


def throttled(address, username):
    now = connection.ops.adapt_datetimefield_value(timezone.now())  # the column's own representation
    limit = int(registry_setting("LOGIN_FAILURE_LIMIT"))
    return bool(_LOCKED_OUT.rows(key=_failure_key(address, username), now=now, limit=limit))


def too_many(address, username):
    window = int(registry_setting("LOGIN_FAILURE_WINDOW"))
    logger.warning("login refused: too many failures for user %r from %s", (username or "")[:150], address)
    return TooManyRequests(
        "too many failed logins, retry later", detail={"retry_after": window}, headers={"Retry-After": str(window)}
    )


# One statement, so failures arriving together at different workers all count: a new window
# starts at the first failure after the previous one expired.
_COUNT_FAILURE = """
INSERT INTO {table} ({key}, {username}, {address}, {count}, {expires}) VALUES (%s, %s, %s, 1, %s)
ON CONFLICT ({key}) DO UPDATE SET
    {count} = CASE WHEN {table}.{expires} > %s THEN {table}.{count} + 1 ELSE 1 END,
    {expires} = CASE WHEN {table}.{expires} > %s THEN {table}.{expires} ELSE excluded.{expires} END
RETURNING {count}
"""


def record_failure(address, username):
    key = _failure_key(address, username)
    now = timezone.now()
    expires = now + timedelta(seconds=int(registry_setting("LOGIN_FAILURE_WINDOW")))
    q, at = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
    sql = _COUNT_FAILURE.format(
        table=q(LoginFailure._meta.db_table),
        key=q("key"),
        username=q("username"),
        address=q("address"),
        count=q("count"),
        expires=q("expires_at"),
    )
    shown = (username or "").replace("\x00", "")[:150]  # PostgreSQL stores no NUL
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, shown, address[:64], at(expires), at(now), at(now)])
        (count,) = cursor.fetchone()
    LoginFailure.objects.filter(expires_at__lte=now).delete()  # windows that ended, anyone's
    logger.info("failed login for user %r from %s (%s in window)", shown, address, count)


def reset_failures(address, username):
    LoginFailure.objects.filter(key=_failure_key(address, username)).delete()


def _remember_key(username, password, stored):
    material = f"{settings.SECRET_KEY}\0{username}\0{password}\0{stored}".encode()
    return "berth:login-ok:" + hashlib.sha256(material).hexdigest()


@sensitive_variables("password")
def _check_password(username, password):
    """Through django.contrib.auth.authenticate, so every configured backend (local, LDAP) applies."""
    if "\x00" in username:
        return None  # no account has a NUL in its name (and PostgreSQL can't even compare one)
    user = principals.user_named(username)
    local = user is not None and user.has_usable_password()  # directory users: asked every time (no hashing)
    if local and cache.get(_remember_key(username, password, user.password)) == user.pk:
        return user if user.is_active else None
    # request=None: check_login counts the failures itself (accounts.backends counts only with a request).
    user = authenticate(None, username=username, password=password)
    if user is None or not user.is_active:
        return None
    if user.has_usable_password():
        cache.set(_remember_key(username, password, user.password), user.pk, REMEMBER_SECONDS)
    return user


@sensitive_variables("password")
def _check_access_token(username, password):
    key_id = tokens.parse_access_token(password)
    if key_id is None:
        return None
    row = principals.access_token_keyed(key_id)
    if row is None or not tokens.secret_matches(row, password):
        return None
    if not row.is_active or not row.user.is_active:
        return None
    if username and username.lower() != row.login_name.lower():
        return None
    touch(row)
    return row


def touch(row):
    """Record the token's use, at most once a minute (no write per registry call)."""
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        AccessToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now


@sensitive_variables("password")
def check_login(request, username, password):
    """The principal (a user or an AccessToken) for these credentials, None when wrong.

    Raises TooManyRequests while the client is locked out for this user name, ProviderRefused when the
    credentials are right but belong to a directory user the directory no longer confirms.
    """
    address = client_address(request)
    if throttled(address, username):
        raise too_many(address, username)
    principal = None
    if password:
        principal = _check_access_token(username, password)
        if principal is None and tokens.parse_access_token(password) is None and username:
            principal = _check_password(username, password)
    try:
        require_provider_confirms(principal)
    except ProviderRefused:
        recorder.login(request, username, None)  # the audit log shows a refused login
        raise
    recorder.login(request, username, principal)
    if principal is None:
        record_failure(address, username)
        return None
    return principal


class ProviderRefused(Unauthorized):
    """Right credentials of a directory user the directory no longer confirms (accounts/recheck.py)."""

    message = "the sign-in provider no longer confirms this account"


def require_provider_confirms(principal):
    """ProviderRefused when the directory (LDAP, OpenID Connect) behind `principal` has disabled, removed or
    revoked its user (a login, or a refresh of a token: accounts/token_views.py; accounts/recheck.py)."""
    if principal is None:
        return
    if not recheck.confirmed(principal.user if isinstance(principal, AccessToken) else principal):
        raise ProviderRefused(headers={"WWW-Authenticate": 'Basic realm="berth"'})


@sensitive_variables("header", "decoded", "password")
def parse_basic(header):
    """(username, password) from an `Authorization: Basic ...` value, or None if it isn't one."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ("", "")
    username, _, password = decoded.partition(":")
    return username, password


def principal_name(principal):
    """The `sub` of tokens issued to this principal."""
    if principal is None:
        return ""
    if isinstance(principal, AccessToken):
        return principal.login_name
    return principal.get_username()
