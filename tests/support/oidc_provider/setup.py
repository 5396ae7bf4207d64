"""Fill the provider: users (with groups) and the confidential client Berth uses. Run with its settings:

    OIDC_PROVIDER_DIR=... python -m tests.support.oidc_provider.setup CONFIG.json

CONFIG: {"client_id", "client_secret", "redirect_uri", "users": {name: {"password", "groups": [...]}}}
"""

import json
import sys

import django


def main(path):
    django.setup()
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    config = json.loads(open(path).read())
    for name, spec in config["users"].items():
        user, _ = User.objects.get_or_create(username=name, defaults={"email": f"{name}@idp.test"})
        user.set_password(spec["password"])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=group)[0] for group in spec.get("groups", [])])
    Application.objects.filter(client_id=config["client_id"]).delete()
    Application.objects.create(
        name="Berth",
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=config["redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
