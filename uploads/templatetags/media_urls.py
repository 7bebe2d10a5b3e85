"""``{% load media_urls %}``: ``{{ product.image|stable_url }}`` links a
file field (or a media name) with its cacheable URL
(``uploads.media.stable_url``), where ``{{ product.image.url }}`` would sign
anew at each render."""

from django import template

from uploads import media

register = template.Library()


@register.filter
def stable_url(file):
    """The cacheable URL of a file field's file, or of a media name; ``""``
    for an empty field, so that ``{% if %}`` around it stays simple."""
    name = getattr(file, "name", file)
    if not name:
        return ""
    return media.stable_url(name, getattr(file, "storage", None))
