from django import template

from policies import sizes

register = template.Library()


@register.filter
def bytes_human(value):
    """10737418240 -> '10 GiB' (the unit the quota messages use)."""
    return "" if value is None else sizes.human(value)
