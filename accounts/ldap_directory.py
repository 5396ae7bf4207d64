"""The django-auth-ldap backend and its signal receivers (accounts/ldap_backend.py says what LDAP sign-in
does). A module of its own so that django-auth-ldap and python-ldap (requirements-ldap.txt, compiled
against libldap) are imported only where LDAP is configured: settings name this backend then."""

import logging

from django.conf import settings
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error, populate_user

from accounts.ldap_backend import REQUEST_FLAG, describe
from accounts.models import SOURCE_LDAP
from accounts.services import directory

logger = logging.getLogger("berth.auth")


class DirectoryBackend(LDAPBackend):
    def ldap_to_django_username(self, username):
        return username.lower()  # a user name is a namespace: lower case

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None or "\x00" in str(username) or "\x00" in str(password):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not getattr(user, "_berth_directory_ok", True):
            return None
        return user


@receiver(populate_user, sender=DirectoryBackend)
def _follow_groups(sender, user=None, ldap_user=None, **kwargs):
    """Every sign-in and every lookup: record the DN and follow the user's groups."""
    if user.pk is None:
        user.save()  # a new account: memberships need its row (django-auth-ldap saves it again after us)
    groups = ldap_user.group_dns if getattr(settings, "AUTH_LDAP_GROUP_SEARCH", None) else set()
    user._berth_directory_ok = directory.signed_in(user, SOURCE_LDAP, ldap_user.dn, groups)
    logger.info("LDAP: %s found in the directory as %s (%d groups)", user.get_username(), ldap_user.dn, len(groups))


@receiver(ldap_error, sender=DirectoryBackend)
def _remember_error(sender, context=None, user=None, request=None, exception=None, **kwargs):
    logger.warning("LDAP directory error while %s: %s", context, describe(exception))
    if request is not None:
        setattr(request, REQUEST_FLAG, describe(exception))
