"""Secrets that stand in for a login: access tokens, registry JWTs, refresh tokens, v1 index tokens.

- Access tokens (personal and robot): `berth_<key id>_<secret>`; the key id finds the
  row, the SHA-256 of the whole string is compared in constant time.
- Registry bearer tokens: short-lived JWTs (HS256, key derived from SECRET_KEY, with
  a `kid`), the distribution token format: iss, sub, aud (the service), exp, nbf,
  iat, jti and `access` = [{"type", "name", "actions"}], exactly what was granted.
  `tid` names the access token a JWT was issued for, so its scopes keep applying.
- Refresh tokens (docker's "identity token"): long-lived JWTs with typ=refresh,
  bound to the user's password hash (a password change ends them) or to the
  access token (revocation ends them).
- v1 index tokens (X-Docker-Token): `Token signature=<signed value>,repository="ns/repo",access=read`,
  the signature a django.core.signing value naming the user, repository and access.
"""

import functools
import hashlib
import hmac
import re
import secrets
import time
import uuid
from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.core import signing

from images.conf import registry_setting

TOKEN_PREFIX = "berth_"
_ACCESS_TOKEN = re.compile(r"^berth_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,100})$")
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


# --- access tokens ----------------------------------------------------------------------------


def new_access_token():
    """(plaintext, key_id, secret_hash) for a new access token."""
    key_id = "".join(
        secrets.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(12)
    )
    plaintext = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(30)}"
    return plaintext, key_id, hash_secret(plaintext)


def hash_secret(plaintext):
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_access_token(plaintext):
    """The key id of something shaped like an access token, else None."""
    match = _ACCESS_TOKEN.fullmatch(plaintext or "")
    return match.group(1) if match else None


def secret_matches(token_row, plaintext):
    return hmac.compare_digest(token_row.secret_hash, hash_secret(plaintext))


# --- JWTs ---------------------------------------------------------------------------------------


def _signing_key():
    return hashlib.sha256(b"berth.registry-token:" + settings.SECRET_KEY.encode()).digest()


def key_id():
    """A stable public name for the signing key (changes when SECRET_KEY does)."""
    return hashlib.sha256(b"kid:" + _signing_key()).hexdigest()[:16]


def service():
    return registry_setting("TOKEN_SERVICE")


def issuer():
    return registry_setting("TOKEN_ISSUER")


def _encode(claims):
    return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM, headers={"kid": key_id()})


def issue_access_token(subject, access, token_id=None, now=None):
    """(jwt, issued_at datetime, expires_in seconds) for `subject` (username or "") with `access`."""
    ttl = int(registry_setting("TOKEN_TTL"))
    now = int(now if now is not None else time.time())
    claims = {
        "iss": issuer(),
        "sub": subject,
        "aud": service(),
        "exp": now + ttl,
        "nbf": now - 1,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    if token_id is not None:
        claims["tid"] = token_id
    issued = datetime.fromtimestamp(now, tz=UTC)
    return _encode(claims), issued, ttl


def _decode(token, expected_type):
    """Claims of a valid token of the type, or None (bad signature, expired, wrong audience...)."""
    try:
        decoded = jwt.api_jwt.decode_complete(  # one parse for the header and the claims
            token,
            _signing_key(),
            algorithms=[ALGORITHM],
            audience=service(),
            issuer=issuer(),
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "aud", "iss", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    if decoded["header"].get("kid") not in (None, key_id()):
        return None
    claims = decoded["payload"]
    if claims.get("typ", "access") != expected_type:
        return None
    return claims


class _Invalid(Exception):
    pass


@functools.lru_cache(maxsize=256)
def _verified_access(token, key, audience, expected_issuer):
    """The claims of a well-formed, signed access token; raises _Invalid (not remembered) otherwise.

    A client uses one registry token for every request of a pull (its manifests and blobs), so a process
    verifies a token's signature and claims once and keeps them (keyed by the settings they were checked
    against); only the expiry changes with time, and `verify_access_token` checks it at every use.
    """
    claims = _decode(token, "access")
    if claims is None or not isinstance(claims.get("access", []), list):
        raise _Invalid
    return claims


def verify_access_token(token):
    """The claims of a valid registry token (the caller must not change them), or None."""
    try:
        claims = _verified_access(token, key_id(), service(), issuer())
    except _Invalid:
        return None
    if claims["exp"] <= time.time() - LEEWAY_SECONDS:  # as jwt.decode's own check
        return None
    return claims


def issue_refresh_token(principal):
    """A refresh token for a user (bound to the password) or an AccessToken (bound to the row).

    The subject is the principal's login name (`acme+ci` for a robot), the name the token
    endpoint checks when it resolves the refresh token again.
    """
    from accounts.models import AccessToken

    now = int(time.time())
    is_token = isinstance(principal, AccessToken)
    claims = {
        "iss": issuer(),
        "sub": principal.login_name if is_token else principal.get_username(),
        "aud": service(),
        "typ": "refresh",
        "iat": now,
        "exp": now + int(registry_setting("REFRESH_TOKEN_TTL")),
        "jti": uuid.uuid4().hex,
    }
    if is_token:
        claims["tid"] = principal.pk
    else:
        claims["pwh"] = password_fingerprint(principal)
    return _encode(claims)


def verify_refresh_token(token):
    return _decode(token, "refresh")


def password_fingerprint(user):
    """Changes whenever the password does (as Django's session auth hash)."""
    return user.get_session_auth_hash()[:32]


def grants(claims, name, action):
    """Whether a verified JWT's access claim allows `action` on repository `name` (canonical)."""
    from images.references import canonical_name

    for entry in claims.get("access") or []:
        if not isinstance(entry, dict) or entry.get("type") != "repository":
            continue
        try:
            entry_name = canonical_name(str(entry.get("name", "")))
        except Exception:
            continue
        actions = entry.get("actions") or []
        if entry_name == name and (action in actions or "*" in actions):
            return True
    return False


# --- v1 index tokens ----------------------------------------------------------------------------

V1_SALT = "berth.v1-token"
_V1_FIELDS = re.compile(r'(\w+)[:=][\s"]?([^",]+)"?')


def issue_v1_token(principal, repository, access):
    """`principal`: None, a user, or an AccessToken (whose scopes keep applying)."""
    from accounts.models import AccessToken

    data = {"r": repository, "a": access, "u": None}
    if isinstance(principal, AccessToken):
        data["t"] = principal.pk
    elif principal is not None:
        data["u"] = principal.pk
    value = signing.dumps(data, salt=V1_SALT, compress=True)
    return f'Token signature={value},repository="{repository}",access={access}'


def verify_v1_token(header_value):
    """{"user_id", "repository", "access"} from an `Authorization: Token ...` value, or None.

    Docker 1.x sends the header it was given, so `Token Token signature=...` is accepted.
    """
    fields = dict(_V1_FIELDS.findall(header_value or ""))
    signature = fields.get("signature")
    if not signature:
        return None
    try:
        data = signing.loads(signature, salt=V1_SALT, max_age=int(registry_setting("V1_TOKEN_TTL")))
    except signing.BadSignature:
        return None
    return {"user_id": data.get("u"), "token_id": data.get("t"), "repository": data.get("r"), "access": data.get("a")}
