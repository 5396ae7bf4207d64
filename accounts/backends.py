"""Django's model backend with the login failure limit (admin, catalog and API sign-in, DRF Basic auth)."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from accounts import credentials


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
    if request is not None and user is not None:
        credentials.reset_failures(credentials.client_address(request), user.get_username())
