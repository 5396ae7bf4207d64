"""The `quota` webhook event: written like every other event (images/services/notifications.py), in the
envelope receivers already parse, with the namespace as `target.repository` and a `quota` object."""

from images.models import Webhook
from images.services import notifications
from policies import sizes

ACTION = "quota"


def quota_warning(namespace, used, quota, warn_percent):
    hooks = [h for h in Webhook.objects.filter(enabled=True) if notifications.wants(h, ACTION, namespace)]
    if not hooks:
        return []
    event = notifications.build_event(ACTION, namespace, digest="")
    event["quota"] = {
        "namespace": namespace,
        "used_bytes": used,
        "quota_bytes": quota,
        "warn_percent": warn_percent,
        "message": f"{namespace} uses {sizes.human(used)} of its {sizes.human(quota)} quota",
    }
    return notifications._enqueue(hooks, ACTION, namespace, event)
