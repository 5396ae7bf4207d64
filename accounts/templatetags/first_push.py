"""`{% first_push_steps as steps %}`: what the catalog's empty state tells a visitor to run first.

steps.auth      registry accounts are on (REGISTRY_AUTH=token)
steps.user      the signed-in user's name ("" for a visitor)
steps.no_users  no account exists yet (the first one comes from `manage.py berth_user`)
steps.namespace the namespace a first push goes to (the user's own; `alice` as an example)
"""

from django import template
from django.contrib.auth import get_user_model

from accounts.first_run import manage_command
from accounts.registry_auth import auth_enabled

register = template.Library()


@register.simple_tag(takes_context=True)
def first_push_steps(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    name = user.get_username() if getattr(user, "is_authenticated", False) else ""
    auth = auth_enabled()
    no_users = auth and not name and not get_user_model()._default_manager.exists()
    namespace = name or ("alice" if auth else "team")
    return {"auth": auth, "user": name, "no_users": no_users, "namespace": namespace, "manage": manage_command()}
