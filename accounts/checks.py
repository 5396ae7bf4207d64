"""Start-up check: the configured directory (LDAP) and OpenID Connect provider answer (`manage.py check`).

Warnings, not errors: the registry keeps serving (local accounts, access tokens, anonymous pulls) while
a directory is down; /readyz reports the same reasons. Each probe has a timeout of a few seconds.
"""

from django.core.checks import Warning, register

from accounts import ldap_backend, oidc
from registry_site.redaction import redact


def problems():
    """{"ldap": reason, "oidc": reason} for each configured single sign-on source that doesn't answer."""
    found = {}
    if ldap_backend.enabled():
        reason = ldap_backend.check_connection()
        if reason:
            found["ldap"] = redact(reason)
    if oidc.enabled():
        reason = oidc.check_connection()
        if reason:
            found["oidc"] = redact(reason)
    return found


def statuses():
    """/readyz's entries: "ok" or "error: <reason>" per configured source."""
    found = problems()
    configured = [name for name, on in (("ldap", ldap_backend.enabled()), ("oidc", oidc.enabled())) if on]
    return {name: f"error: {found[name]}" if name in found else "ok" for name in configured}


HINTS = {
    "ldap": "check AUTH_LDAP_SERVER_URI, AUTH_LDAP_BIND_DN, AUTH_LDAP_BIND_PASSWORD and AUTH_LDAP_START_TLS",
    "oidc": "check BERTH_OIDC_ISSUER (its /.well-known/openid-configuration must answer)",
}


@register("directory")
def directory_reachable(app_configs=None, **kwargs):
    return [
        Warning(f"single sign-on ({name}) is not usable: {reason}", hint=HINTS[name], id=f"berth.W10{i}")
        for i, (name, reason) in enumerate(sorted(problems().items()), start=1)
    ]
