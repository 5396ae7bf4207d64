"""Directory users (LDAP, OpenID Connect) are confirmed again wherever they act, not only when they sign in.

A user disabled or removed in the directory, or (OIDC) whose grant the provider revoked, loses Berth with it:

- a login with one of their access tokens (docker login, Basic to the registry APIs) and a refresh of a registry
  token are refused (accounts/credentials.py `require_provider_confirms`);
- their browser session ends: the next page they open signs them out and says why (`DirectorySessionMiddleware`).

The directory is asked at most every BERTH_DIRECTORY_RECHECK seconds per user (60; 0 asks every time): an LDAP
user is looked up again with the service account (their groups followed, as at sign-in), an OIDC user's provider
is asked with the refresh token it gave at sign-in (accounts/oidc.py). A directory that can't be reached counts as
a no (fail closed, as at sign-in). Local accounts are never asked.
"""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts import ldap_backend, oidc
from accounts.models import SOURCE_LDAP, SOURCE_OIDC
from accounts.services import directory
from images.browser_middleware import browser_only

logger = logging.getLogger("berth.auth")
SESSION_KEY = "_berth_directory_checked"


def confirmed(user):
    """False when the directory behind `user` no longer stands behind them (or can't be asked)."""
    identity = directory.identity(user)
    if identity is None or directory.confirmed_lately(identity):
        return True
    if identity.source == SOURCE_OIDC:
        return oidc.still_allowed(user)  # re-reads the identity under a lock (the provider rotates its grant)
    if identity.source != SOURCE_LDAP:
        return True
    # A successful look-up records the time (accounts/ldap_directory.py -> directory.signed_in).
    found = ldap_backend.enabled() and ldap_backend.still_in_directory(user)
    if not found:
        logger.warning("%s refused: not found in the LDAP directory (or it can't be reached)", user.get_username())
    return found


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    """A sign-in asked the directory (a password bind, the provider's sign-in): the session starts confirmed."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = time.time()


class _DirectorySession:
    """Signs a directory user out of the browser when the directory no longer confirms them (see above)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and self._due(request.session):
            if confirmed(user):
                request.session[SESSION_KEY] = time.time()
            else:
                logout(request)
                messages.warning(request, "You were signed out: your directory account is no longer active.")
        return self.get_response(request)

    @staticmethod
    def _due(session):
        return time.time() - session.get(SESSION_KEY, 0) >= settings.DIRECTORY_RECHECK


DirectorySessionMiddleware = browser_only(_DirectorySession)
