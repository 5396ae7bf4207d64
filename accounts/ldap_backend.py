"""LDAP sign-in through django-auth-ldap (settings AUTH_LDAP_*, read from the environment in settings.py).

- A directory user signs in (catalog, admin, docker login, v1) with their directory password; their
  Berth account is created at the first sign-in (with an unusable local password).
- Their groups (AUTH_LDAP_GROUP_SEARCH) drive the group mappings at each sign-in (accounts/services/directory.py).
- `still_in_directory(user)` looks a user up again with the service account: a token refresh of an LDAP
  user calls it, so a user removed from the directory (or no longer matched by the user search filter,
  which is how a directory "disables" an account) can't refresh their registry token; their groups are
  followed there too.
- An unreachable server or a refused bind is logged and remembered on the request (the sign-in page says
  the directory is unreachable); it never turns into a 500.
"""

import logging

from django.conf import settings

logger = logging.getLogger("berth.auth")
REQUEST_FLAG = "_berth_directory_error"


def enabled():
    return bool(getattr(settings, "AUTH_LDAP_SERVER_URI", ""))


def describe(exception):
    """A one-line reason from a python-ldap error (its `desc`, and `info` when there is one)."""
    args = getattr(exception, "args", ())
    if args and isinstance(args[0], dict):
        detail = args[0]
        return " ".join(str(detail[k]) for k in ("desc", "info") if detail.get(k))
    return f"{exception.__class__.__name__}: {exception}"


def still_in_directory(user):
    """Look the user up again (service account bind + search); False when gone, disabled or unreachable."""
    from accounts.ldap_directory import DirectoryBackend

    found = DirectoryBackend().populate_user(user.get_username())
    return found is not None and found.pk == user.pk and found.is_active and getattr(found, "_berth_directory_ok", True)


def check_connection():
    """None when the server answers and the service account binds, else the reason (short timeouts)."""
    import ldap
    from django_auth_ldap.config import LDAPSettings

    options = LDAPSettings().CONNECTION_OPTIONS
    try:
        conn = ldap.initialize(settings.AUTH_LDAP_SERVER_URI, bytes_mode=False)
        for option, value in options.items():
            conn.set_option(option, value)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, min(options.get(ldap.OPT_NETWORK_TIMEOUT, 3), 3))
        conn.set_option(ldap.OPT_TIMEOUT, min(options.get(ldap.OPT_TIMEOUT, 3), 3))
        if getattr(settings, "AUTH_LDAP_START_TLS", False):
            conn.start_tls_s()
        conn.simple_bind_s(getattr(settings, "AUTH_LDAP_BIND_DN", ""), getattr(settings, "AUTH_LDAP_BIND_PASSWORD", ""))
        conn.unbind_s()
    except ldap.LDAPError as error:
        return f"{settings.AUTH_LDAP_SERVER_URI}: {describe(error)}"
    return None
