"""The built-in token server: GET and POST /v2/token (distribution's token and OAuth2 specs).

GET  /v2/token?service=&scope=repository:ns/app:pull,push[&scope=...]&account=&offline_token=true
     Basic auth (a password or an access token) or anonymous.
POST /v2/token  grant_type=password (username, password) | refresh_token (refresh_token),
     service, client_id, scope (space separated), access_type=offline.

The answer's JWT carries in `access` exactly the requested actions the caller
may do (nothing is an error: the registry then refuses the call). Offline
requests of authenticated callers also get a refresh token, which docker keeps as
its "identity token" instead of the password. Refreshing as an LDAP user looks the user up in the
directory again (one bind and search): a user removed or disabled there gets no new token, and their
group mappings are followed. Every token for a directory user (their access token as the password, or
a refresh) asks the directory again, at most every BERTH_DIRECTORY_RECHECK seconds (accounts/recheck.py),
with the same consequences.
"""

import logging

from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts import credentials, ldap_backend, registry_auth, tokens
from accounts.models import SOURCE_LDAP, AccessToken
from accounts.services import directory
from images import permissions, references
from images.api.errors import API_VERSION_HEADER, envelope
from images.errors import NameInvalid, RegistryError, Unauthorized, Unsupported

logger = logging.getLogger("berth.auth")
ACTION_ORDER = ("pull", "push", "delete")


class BadRequest(RegistryError):
    code = "UNSUPPORTED"
    status = 400
    message = "invalid token request"


def parse_scope(scope):
    """(type, name, actions) of `repository:ns/app:pull,push`, or None when malformed."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
    kind = kind.split("(", 1)[0]  # `repository(plugin)` is a repository too
    return kind, name, [a for a in actions.split(",") if a]


def grant(principal, scopes):
    """The `access` claim: for each requested scope, the actions the principal may do."""
    access = []
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None:
            continue
        kind, name, requested = parsed
        if kind == "registry" and name == "catalog":
            access.append({"type": "registry", "name": "catalog", "actions": ["*"]})  # the list is filtered anyway
            continue
        if kind != "repository":
            continue
        try:
            canonical = references.canonical_name(name)
        except NameInvalid:
            continue
        wanted = set(ACTION_ORDER) if "*" in requested else set(requested)
        allowed = permissions.ALL_ACTIONS
        if registry_auth.auth_enabled():
            allowed = permissions.actions_for(principal, canonical)
        granted = [a for a in ACTION_ORDER if a in wanted and a in allowed]
        if granted:
            access.append({"type": "repository", "name": name, "actions": granted})
    return access


def token_answer(principal, scopes, offline, oauth=False):
    access = grant(principal, scopes)
    token_id = principal.pk if isinstance(principal, AccessToken) else None
    jwt_token, issued, ttl = tokens.issue_access_token(credentials.principal_name(principal), access, token_id)
    body = {"token": jwt_token, "access_token": jwt_token, "expires_in": ttl, "issued_at": issued.isoformat()}
    if oauth:
        body["scope"] = " ".join(scopes)
    if offline and principal is not None:
        body["refresh_token"] = tokens.issue_refresh_token(principal)
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def error_answer(error):
    response = JsonResponse(envelope(error), status=error.status)
    for key, value in error.headers.items():
        response[key] = value
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    return response


def check_service(value):
    if value and value != tokens.service():
        raise BadRequest("unknown service", detail={"service": value[:200], "expected": tokens.service()})


def bad_credentials():
    return Unauthorized("incorrect username or password", headers={"WWW-Authenticate": 'Basic realm="berth"'})


@sensitive_variables("refresh_token", "claims")
def principal_from_refresh_token(refresh_token):
    claims = tokens.verify_refresh_token(refresh_token or "")
    if claims is None:
        return None
    if claims.get("tid") is not None:
        return registry_auth.principal_from_claims({"sub": claims["sub"], "tid": claims["tid"]})
    user = registry_auth.principal_from_claims({"sub": claims["sub"]})
    if user is None or claims.get("pwh") != tokens.password_fingerprint(user):
        return None
    from_ldap = directory.source_of(user) == SOURCE_LDAP
    if from_ldap and not (ldap_backend.enabled() and ldap_backend.still_in_directory(user)):
        logger.warning("refresh refused: %s is no longer found in the LDAP directory", user.get_username())
        return None  # removed or disabled in the directory (or the directory is unreachable: fail closed)
    return user


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("password", "refresh_token"), name="post")
class TokenView(View):
    http_method_names = ["get", "post", "options"]

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except RegistryError as error:
            return error_answer(error)

    def http_method_not_allowed(self, request, *args, **kwargs):
        return error_answer(Unsupported(f"method {request.method} not allowed"))

    @sensitive_variables("header", "password")
    def get(self, request):
        params = request.GET
        check_service(params.get("service", ""))
        principal = None
        basic = credentials.parse_basic(request.META.get("HTTP_AUTHORIZATION", ""))
        if basic is not None and basic != ("", ""):
            username, password = basic
            principal = credentials.check_login(request, username, password)
            if principal is None:
                raise bad_credentials()
        scopes = [s for value in params.getlist("scope") for s in value.split(" ") if s]
        offline = params.get("offline_token", "").lower() == "true"
        return token_answer(principal, scopes, offline)

    @sensitive_variables("password", "refresh_token")
    def post(self, request):
        form = request.POST
        check_service(form.get("service", ""))
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            username, password = form.get("username", ""), form.get("password", "")
            principal = credentials.check_login(request, username, password)
            if principal is None:
                raise bad_credentials()
        elif grant_type == "refresh_token":
            principal = principal_from_refresh_token(form.get("refresh_token", ""))
            credentials.require_provider_confirms(principal)  # as a login does
            if principal is None:
                raise Unauthorized("invalid or expired refresh token")
        else:
            raise BadRequest("grant_type must be password or refresh_token", detail={"grant_type": grant_type[:50]})
        scopes = [s for s in form.get("scope", "").split(" ") if s]
        offline = form.get("access_type", "") == "offline" and grant_type == "password"
        return token_answer(principal, scopes, offline, oauth=True)
