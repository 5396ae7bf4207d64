"""OpenID Connect sign-in through mozilla-django-oidc (authorization code flow with PKCE and a nonce).

BERTH_OIDC_ISSUER names the provider; its endpoints come from the issuer's discovery document
(`/.well-known/openid-configuration`), fetched when first needed with a short timeout and kept for
DISCOVERY_TTL seconds. The id token's signature (the provider's JWKS), audience (our client id),
issuer, expiry and nonce are checked. A user is found by the issuer's `sub` (DirectoryIdentity), never
by e-mail; a new one gets `preferred_username` (lower case) as user name, unless a local account
already has it. The groups claim (BERTH_OIDC_GROUPS_CLAIM, default `groups`) drives the group mappings.
A provider that can't be reached sends the visitor back to the sign-in page with the reason.
"""

import logging
import time

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from mozilla_django_oidc import auth as oidc_auth
from mozilla_django_oidc import views as oidc_views

from accounts.models import SOURCE_OIDC, validate_namespace_name
from accounts.services import directory

logger = logging.getLogger("berth.auth")
DISCOVERY_TTL = 3600
_discovery = {"at": 0.0, "document": None}
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class ProviderUnavailable(Exception):
    pass


def enabled():
    return bool(getattr(settings, "OIDC_ISSUER", ""))


def provider_name():
    return settings.OIDC_PROVIDER_NAME


def discovery(force=False):
    """The issuer's discovery document (cached); ProviderUnavailable with the reason when it can't be had."""
    if not force and _discovery["document"] is not None and time.monotonic() - _discovery["at"] < DISCOVERY_TTL:
        return _discovery["document"]
    url = settings.OIDC_ISSUER.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"{url}: {error.__class__.__name__}: {error}") from None
    missing = [key for key in ENDPOINTS.values() if not document.get(key)]
    if missing or document.get("issuer", "").rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
        raise ProviderUnavailable(f"{url}: not a discovery document of {settings.OIDC_ISSUER} (missing {missing})")
    _discovery.update(at=time.monotonic(), document=document)
    return document


def setting(attr, *args):
    """mozilla-django-oidc's settings, with the provider's endpoints taken from discovery."""
    if attr in ENDPOINTS:
        return discovery()[ENDPOINTS[attr]]
    return oidc_auth.import_from_settings(attr, *args)


def check_connection():
    try:
        discovery(force=True)
    except ProviderUnavailable as error:
        return str(error)
    return None


class OIDCBackend(oidc_auth.OIDCAuthenticationBackend):
    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()  # endpoints are read when a callback arrives, not at every authenticate()

    def authenticate(self, request, **kwargs):
        if request is None or "code" not in request.GET or "state" not in request.GET or "nonce" not in kwargs:
            return None  # not an OIDC callback (a password sign-in asks every backend)
        try:
            self.configure()
            return super().authenticate(request, **kwargs)
        except (ProviderUnavailable, requests.RequestException, SuspiciousOperation, jwt.PyJWTError) as error:
            logger.warning("OpenID Connect sign-in failed: %s: %s", error.__class__.__name__, error)
            return None

    def _verify_jws(self, payload, key):
        """Signature, algorithm, audience (our client id), issuer and expiry of the id token."""
        if jwt.get_unverified_header(payload).get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("The id token is not signed with OIDC_RP_SIGN_ALGO.")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=discovery()["issuer"],
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise SuspiciousOperation(f"id token refused: {error}") from None

    def get_userinfo(self, access_token, id_token, payload):
        """The id token's claims with the userinfo endpoint's (the same `sub` only)."""
        info = super().get_userinfo(access_token, id_token, payload)
        if info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo is about another subject")
        return {**payload, **info}

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def subject(self, claims):
        return f"{discovery()['issuer']} {claims['sub']}"

    def filter_users_by_claims(self, claims):
        user = directory.identity_user(SOURCE_OIDC, self.subject(claims))
        return self.UserModel.objects.filter(pk=user.pk) if user else self.UserModel.objects.none()

    def get_username(self, claims):
        return (claims.get(settings.OIDC_USERNAME_CLAIM) or claims.get("email", "").split("@")[0] or "").lower()

    def create_user(self, claims):
        username = self.get_username(claims)
        try:
            validate_namespace_name(username)
        except Exception:
            raise SuspiciousOperation(f"{username!r} can't be a Berth user name") from None
        if self.UserModel.objects.filter(username__iexact=username).exists():
            raise SuspiciousOperation(f"a local account is already named {username!r}")
        user = self.UserModel.objects.create_user(username, email=claims.get("email", ""))
        user.set_unusable_password()
        user.save(update_fields=["password"])
        logger.info("OpenID Connect: created user %s for %s", username, self.subject(claims)[:200])
        return self.update_user(user, claims)

    def get_token(self, payload):
        """The provider's tokens for a sign-in's code; its refresh token is kept to ask again later."""
        info = super().get_token(payload)
        self.provider_grant = info.get("refresh_token", "")
        return info

    def update_user(self, user, claims):
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        if not user.is_active or not directory.signed_in(user, SOURCE_OIDC, self.subject(claims), groups):
            raise SuspiciousOperation(f"{user.get_username()} may not sign in")
        directory.keep_provider_grant(user, getattr(self, "provider_grant", ""))
        return user

    def configure(self):
        for attr in ("OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT"):
            setattr(self, attr, setting(attr))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO, self.OIDC_RP_IDP_SIGN_KEY = settings.OIDC_RP_SIGN_ALGO, None


def still_allowed(user):
    """Whether the provider still stands behind an OpenID Connect user (a token request's check, as LDAP's).

    Asked with the refresh token it gave at sign-in, at most every BERTH_DIRECTORY_RECHECK seconds: a user
    disabled or removed there, or whose grant was revoked, gets False; so does a provider that can't be
    reached (fail closed, as LDAP). The userinfo answer's groups are followed (the group mappings), and the
    new refresh token is kept. Users of other sources, and OIDC users whose provider gave no refresh
    token at sign-in, are not asked: True.
    """
    identity = directory.identity_of(user, SOURCE_OIDC) if enabled() else None
    if identity is None or not identity.provider_grant or directory.confirmed_lately(identity):
        return True
    # One question at a time per user: the provider rotates refresh tokens, so a second request asking with
    # the same one would be refused. It waits here and finds the first one's answer.
    with transaction.atomic():
        identity = directory.identity_of(user, SOURCE_OIDC, lock=True)
        return directory.confirmed_lately(identity) or _ask_provider(user, identity)


def _ask_provider(user, identity):
    grant = directory.provider_grant(identity)
    backend = OIDCBackend()
    try:
        if grant is None:
            raise SuspiciousOperation("its refresh token can't be read (SECRET_KEY changed): sign in again")
        backend.configure()
        info = _refreshed(grant)
        backend.provider_grant = info.get("refresh_token") or grant
        sub = identity.subject.split(" ", 1)[1]
        backend.update_user(user, backend.get_userinfo(info["access_token"], info.get("id_token"), {"sub": sub}))
    except (ProviderUnavailable, requests.RequestException, SuspiciousOperation, KeyError, ValueError) as error:
        logger.warning("%s refused: %s: %s", user.get_username(), provider_name(), error)
        return False
    return True


def _refreshed(grant):
    """The provider's answer to a refresh_token grant; SuspiciousOperation when it refuses it."""
    response = requests.post(
        setting("OIDC_OP_TOKEN_ENDPOINT"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": grant,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "client_secret": settings.OIDC_RP_CLIENT_SECRET,
        },
        timeout=settings.OIDC_TIMEOUT,
    )
    if response.status_code in (400, 401):
        raise SuspiciousOperation(f"the provider refused the refresh ({response.text[:200]})")
    response.raise_for_status()
    return response.json()


class EnabledOnly:
    def dispatch(self, request, *args, **kwargs):
        if not enabled():
            raise Http404("OpenID Connect sign-in is not configured.")
        return super().dispatch(request, *args, **kwargs)


class AuthenticationRequestView(EnabledOnly, oidc_views.OIDCAuthenticationRequestView):
    """Sends the browser to the provider (with state, nonce and a PKCE challenge)."""

    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        oidc_views.View.__init__(self, *args, **kwargs)

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as error:
            logger.warning("OpenID Connect provider unavailable: %s", error)
            messages.error(request, f"{provider_name()} can't be reached right now; try again later.")
            return redirect(settings.LOGIN_URL)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class AuthenticationCallbackView(EnabledOnly, oidc_views.OIDCAuthenticationCallbackView):
    """The provider's redirect back: exchange the code, check the id token, sign the user in."""

    get_settings = staticmethod(setting)

    def login_failure(self):
        logger.warning("OpenID Connect sign-in failed (%s)", self.request.GET.get("error", "refused"))
        messages.error(self.request, f"Signing in with {provider_name()} failed.")
        return redirect(settings.LOGIN_URL)

    def login_success(self):
        logger.info("OpenID Connect sign-in: %s", self.user.get_username())
        return super().login_success()
