"""Authentication and authorisation of registry protocol calls (v2; v1 reuses the pieces).

REGISTRY["AUTH"]:
- "token" (default): distribution's token authentication. A call carries
  `Authorization: Bearer <jwt>` (from /v2/token), or `Basic` (a password or an
  access token; for simple clients), or nothing (anonymous). A call that may not
  proceed gets 401 UNAUTHORIZED with
  `WWW-Authenticate: Bearer realm=".../v2/token",service="...",scope="repository:<name>:<actions>"`
  (the client fetches a token and retries), or 403 DENIED when the caller is
  known and simply may not. A JWT lacking a scope its subject could have gets a
  401 with error="insufficient_scope", so the client asks for a wider token.
- "none": an open registry; every call may do everything.
"""

import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.views.decorators.debug import sensitive_variables

from accounts import credentials, principals, tokens
from images import permissions
from images.conf import registry_setting
from images.errors import Denied, Unauthorized

logger = logging.getLogger("berth.auth")
AUTH_MODES = ("token", "none")
_UNRESOLVED = object()


def auth_mode():
    mode = str(registry_setting("AUTH")).strip().lower()
    return mode if mode in AUTH_MODES else "token"


def auth_enabled():
    return auth_mode() != "none"


@dataclass
class Caller:
    """Who is calling: how they proved it, and (for JWTs) the verified claims."""

    scheme: str = "anonymous"  # "anonymous", "basic", "bearer", "open" (AUTH=none)
    claims: dict = field(default_factory=dict)
    _principal: object = _UNRESOLVED

    @property
    def principal(self):
        """None (anonymous), a user, or an AccessToken; resolved lazily from JWT claims."""
        if self._principal is _UNRESOLVED:
            self._principal = principal_from_claims(self.claims)
        return self._principal

    @property
    def anonymous(self):
        return self.scheme in ("anonymous", "open") or self.principal is None

    @property
    def name(self):
        return credentials.principal_name(None if self.scheme == "open" else self.principal)

    def allows(self, name, action):
        if self.scheme == "open":
            return True
        if self.scheme == "bearer":
            return tokens.grants(self.claims, name, action)
        return action in permissions.actions_for(self.principal, name)

    def visible(self, queryset=None):
        if self.scheme == "open":
            return queryset
        return permissions.visible_repositories(self.principal, queryset)


def principal_from_claims(claims):
    subject = claims.get("sub") or ""
    if not subject:
        return None
    token_id = claims.get("tid")
    if token_id is not None:
        row = principals.access_token(token_id)
        if row is None or not row.is_active or not row.user.is_active or row.login_name != subject:
            return None
        return row
    user = principals.user_named(subject)
    return user if user is not None and user.is_active else None


# --- challenges -------------------------------------------------------------------------------


def realm(request):
    configured = registry_setting("TOKEN_REALM")
    if configured:
        return configured
    return f"{request.scheme}://{request.get_host()}/v2/token"


def challenge(request, scope=None, error=None):
    value = f'Bearer realm="{realm(request)}",service="{tokens.service()}"'
    if scope:
        value += f',scope="{scope}"'
    if error:
        value += f',error="{error}"'
    return value


def scope_for(name, action):
    actions = "pull,push" if action == permissions.PUSH else action
    return f"repository:{name}:{actions}"


def unauthorized(request, name=None, action=None, error=None, message=None):
    scope = scope_for(name, action) if name and action else None
    detail = [{"Type": "repository", "Name": name, "Action": action}] if scope else None
    return Unauthorized(message, detail=detail, headers={"WWW-Authenticate": challenge(request, scope, error)})


# --- per request ------------------------------------------------------------------------------


@sensitive_variables("header", "password", "raw")
def authenticate(request):
    """The Caller of a registry request; bad credentials are a 401 (too many: 429)."""
    if not auth_enabled():
        return Caller(scheme="open", _principal=None)
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        raw = header[7:].strip()
        claims = tokens.verify_access_token(raw)
        if claims is None:
            raise unauthorized(request, error="invalid_token", message="invalid or expired token")
        caller = Caller(scheme="bearer", claims=claims)
        if claims.get("sub") and caller.principal is None:  # user gone or inactive, access token revoked
            raise unauthorized(request, error="invalid_token", message="the token's account is no longer valid")
        return caller
    basic = credentials.parse_basic(header)
    if basic is not None and basic != ("", ""):
        username, password = basic
        try:
            principal = credentials.check_login(request, username, password)
        except credentials.ProviderRefused as refused:
            raise unauthorized(request, message=refused.message) from None
        if principal is None:
            raise unauthorized(request, message="incorrect username or password")
        return Caller(scheme="basic", _principal=principal)
    return Caller(scheme="anonymous", _principal=None)


def require(request, caller, name, action):
    """Raise the right error unless `caller` may do `action` on repository `name`."""
    if caller.allows(name, action):
        return
    if caller.scheme == "bearer" and caller.principal is not None:
        if action in permissions.actions_for(caller.principal, name):
            raise unauthorized(request, name, action, error="insufficient_scope", message="insufficient scope")
    if caller.anonymous:
        raise unauthorized(request, name, action)
    logger.info("denied: %s may not %s %s", caller.name[:150], action, name)
    raise Denied(detail=[{"Type": "repository", "Name": name, "Action": action}])


def require_login(request, caller):
    """GET /v2/: any valid credential (a JWT, even an anonymous one, or Basic); else the challenge."""
    if caller.scheme in ("open", "bearer", "basic"):
        return
    raise unauthorized(request)


# --- v1 (V1_PROTOCOL.md §0, §2, §4.7) -------------------------------------------------------

V1_ACCESS = {"pull": "read", "push": "write", "delete": "delete"}


@sensitive_variables("header", "password")
def authenticate_v1(request):
    """The Caller of a v1 call: `Authorization: Token ...` (X-Docker-Token), Basic, or anonymous."""
    if not auth_enabled():
        return Caller(scheme="open", _principal=None)
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "token ":
        data = tokens.verify_v1_token(header)
        if data is None:
            raise v1_unauthorized("Invalid token")
        principal = None
        if data["token_id"] is not None:
            principal = principals.access_token(data["token_id"])
            if principal is None or not principal.is_active or not principal.user.is_active:
                raise v1_unauthorized("Invalid token")
        elif data["user_id"] is not None:
            principal = get_user_model()._default_manager.filter(pk=data["user_id"], is_active=True).first()
            if principal is None:
                raise v1_unauthorized("Invalid token")
        return Caller(scheme="v1token", claims=data, _principal=principal)
    basic = credentials.parse_basic(header)
    if basic is not None and basic != ("", ""):
        try:
            principal = credentials.check_login(request, *basic)
        except credentials.ProviderRefused as refused:
            raise v1_unauthorized(refused.message) from None
        if principal is None:
            raise v1_unauthorized("Wrong login/password, please try again")
        return Caller(scheme="basic", _principal=principal)
    return Caller(scheme="anonymous", _principal=None)


def v1_unauthorized(message="Requires authorization"):
    return Unauthorized(message, headers={"WWW-Authenticate": "Token"})


def require_v1(caller, name, action):
    """v1 repository calls: 401 (log in) for anonymous callers, 403 for known ones."""
    if caller.scheme == "open" or action in permissions.actions_for(caller.principal, name):
        return
    if caller.principal is None:
        raise v1_unauthorized()
    raise Denied("Access denied")


def v1_image_readable(caller, image_id):
    """An image may be read when a repository the caller may pull holds it (else it is "not found")."""
    return not v1_unreadable_images(caller, [image_id], existing_only=False)


def v1_unreadable_images(caller, image_ids, existing_only=True):
    """The ids no repository the caller may pull holds; with `existing_only`, only ids of stored images.

    v1 image ids are global: a push may name an existing image (in a repository index,
    a tag or as a parent) only if the caller may read it, else it would link someone
    else's private layers into the caller's repository.
    """
    if caller.scheme == "open":
        return set()
    from images.models import Tag, V1Image, V1RepositoryImage

    ids = set(image_ids)
    if existing_only:
        ids = set(V1Image.objects.filter(image_id__in=ids).values_list("image_id", flat=True))
    if not ids:
        return ids
    visible = permissions.visible_repositories(caller.principal)
    indexed = V1RepositoryImage.objects.filter(image_id__in=ids, repository__in=visible)
    tagged = Tag.objects.filter(v1_image__image_id__in=ids, repository__in=visible)
    readable = set(indexed.values_list("image_id", flat=True))
    readable |= set(tagged.values_list("v1_image__image_id", flat=True))
    return ids - readable


def require_v1_uploader(caller):
    """Image uploads (json, layer, checksum) need a signed-in caller or a write token."""
    if caller.scheme == "open":
        return
    if caller.scheme == "v1token" and caller.claims.get("access") in ("write",) and caller.principal is not None:
        return
    if caller.scheme == "basic" and caller.principal is not None:
        return
    raise v1_unauthorized()


def v1_token_for(caller, repository, access):
    """The X-Docker-Token value for the index answers."""
    return tokens.issue_v1_token(None if caller.scheme == "open" else caller.principal, repository, access)
