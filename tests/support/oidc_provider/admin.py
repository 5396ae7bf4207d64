"""What the provider's operator does to a user after sign-in. Run with its settings:

    OIDC_PROVIDER_DIR=... python -m tests.support.oidc_provider.admin groups NAME [GROUP ...]
    OIDC_PROVIDER_DIR=... python -m tests.support.oidc_provider.admin disable NAME

`disable` deactivates the user and revokes every token the provider issued them, as an identity
provider does when an account is switched off (django-oauth-toolkit does not revoke by itself).
"""

import sys

import django


def main(action, name, *groups):
    django.setup()
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import AccessToken, RefreshToken

    user = User.objects.get(username=name)
    if action == "groups":
        user.groups.set([Group.objects.get_or_create(name=group)[0] for group in groups])
    elif action == "disable":
        user.is_active = False
        user.save(update_fields=["is_active"])
        for token in RefreshToken.objects.filter(user=user, revoked__isnull=True):
            token.revoke()
        AccessToken.objects.filter(user=user).delete()
    else:
        raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
