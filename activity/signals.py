"""Sign-ins through Django's auth (the catalog's login form, the admin, the JSON API's Basic auth)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from activity import recorder
from activity.models import FAILED, SECURITY


@receiver(user_logged_in)
def _logged_in(sender, request=None, user=None, **kwargs):
    if user is not None:
        recorder.record(
            "login", category=SECURITY, namespace="", actor=user, detail={"username": user.get_username(), "via": "web"}
        )


@receiver(user_login_failed)
def _login_failed(sender, credentials=None, request=None, **kwargs):
    if request is None:
        return  # a registry login (accounts.credentials.check_login, which records its own outcome)
    username = str((credentials or {}).get("username", "")).replace("\x00", "")[:150]
    recorder.record(
        "login", outcome=FAILED, category=SECURITY, namespace="", detail={"username": username, "via": "web"}
    )
