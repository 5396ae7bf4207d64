from django import template

from policies import sizes

register = template.Library()


@register.filter
def bytes_human(value):
    """10737418240 -> '10 GiB' (the unit the quota messages use)."""
    return "" if value is None else sizes.human(value)


@register.simple_tag
def namespace_usage(namespace):
    """'1.2 GiB of 10 GiB used (12%)' or '1.2 GiB used', for a namespace's page."""
    from policies.services import quotas

    status = quotas.status(namespace)
    if status["quota"] is None:
        return f"{status['used']} used"
    return f"{status['used']} of {status['quota']} used ({status['percent']}%)"
