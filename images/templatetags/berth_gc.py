"""{% space_returns %}: when the space of deleted data comes back (images/services/gc.py space_returns_text)."""

from django import template

from images.services import gc

register = template.Library()


@register.simple_tag
def space_returns():
    return gc.space_returns_text()
