"""Django's model backend with the login failure limit (admin, catalog and API sign-in, DRF Basic auth).

BERTH_LOCAL_LOGIN=false (settings.BERTH_LOCAL_LOGIN): local passwords only work for superusers (directory
sign-in and access tokens still do).
"""

import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from accounts import credentials

logger = logging.getLogger("berth.auth")


class RateLimitedModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and "\x00" in str(username):
            return None  # no such account (and PostgreSQL can't even compare one): not a 500
        if request is not None and username is not None:
            address = credentials.client_address(request)
            if credentials.throttled(address, username):
                credentials.too_many(address, username)  # logs it
                raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user):
        if not getattr(settings, "BERTH_LOCAL_LOGIN", True) and not user.is_superuser:
            return False
        return super().user_can_authenticate(user)


@receiver(user_login_failed)
def _count_failure(sender, credentials=None, request=None, **kwargs):
    from accounts import credentials as creds

    if request is None:
        return
    username = (credentials or {}).get("username", "")
    address = creds.client_address(request)
    if not creds.throttled(address, username):
        creds.record_failure(address, username)


@receiver(user_logged_in)
def _reset_failures(sender, request=None, user=None, **kwargs):
    if user is not None:
        backend = getattr(user, "backend", "") or ""
        logger.info("sign-in: %s (%s)", user.get_username(), backend.rsplit(".", 1)[-1])
    if request is not None and user is not None:
        credentials.reset_failures(credentials.client_address(request), user.get_username())
