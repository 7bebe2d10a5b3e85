"""
What a viewer gets for an image field (a product's photo, a site's logo):
the URLs of its renditions, their state, and the original's URL only for
those who answer for the site (``inventory.permissions.can_see_originals``).

Pages and API responses link only renditions: the server decoded them
fully and re-encoded them without metadata (``uploads.renditions``), while
an original is bytes as a client sent them. The pages, the API and the admin
all ask this module, so that what the renditions are called and how their
URLs are made (``RenditionSet.url``, cacheable across page views) is known
in one place.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from inventory.permissions import can_see_originals
from uploads.media import stable_url
from uploads.renditions import get_renditions

NONE, PENDING, READY, FAILED = "none", "pending", "ready", "failed"
#: The states of an image field's renditions, as the API documents them.
STATES = [
    (NONE, _("no image")),
    (PENDING, _("being made")),
    (READY, _("ready")),
    (FAILED, _("failed")),
]

#: The renditions' names (``uploads.renditions.DEFAULT_RENDITIONS``).
THUMBNAIL_SMALL, THUMBNAIL, DISPLAY = "thumb_small", "thumb", "display"


@dataclass(frozen=True)
class ViewedImage:
    """One image field as one viewer gets it. URLs are ``None`` unless the
    renditions are ready; ``original_url`` is ``None`` for those who may not
    see originals, and when there is no image."""

    state: str
    thumbnail_small_url: str | None = None
    thumbnail_url: str | None = None
    display_url: str | None = None
    display_width: int | None = None
    display_height: int | None = None
    original_url: str | None = None


NO_IMAGE = ViewedImage(NONE)


class ImageViewer:
    """Views image fields for ``user``, fetching the rendition sets of many
    fields at once (``prefetch``): a list costs one query, not one a row.
    Without a user, no original: the admin's previews show renditions only."""

    def __init__(self, user=None):
        self.user = user
        self.rendition_sets = {}

    def prefetch(self, files):
        """Fetches the rendition sets of ``files`` not fetched yet, in one query."""
        names = {file.name for file in files if file} - self.rendition_sets.keys()
        if names:
            found = get_renditions(sorted(names))
            self.rendition_sets.update({name: found.get(name) for name in names})

    def view(self, file, site_id):
        """``file`` (an image field's value) of the site ``site_id``, as the
        user gets it. An image whose renditions were never asked for (an
        image from before renditions, until ``build_renditions`` runs) reads
        as pending: it will get them."""
        if not file:
            return NO_IMAGE
        self.prefetch([file])
        renditions = self.rendition_sets[file.name]
        original_url = None
        if self.user is not None and can_see_originals(self.user, site_id):
            original_url = stable_url(file.name)
        if renditions is None or not (renditions.is_ready or renditions.is_failed):
            return ViewedImage(PENDING, original_url=original_url)
        if renditions.is_failed:
            return ViewedImage(FAILED, original_url=original_url)
        display = renditions.variants.get(DISPLAY, {})
        return ViewedImage(
            READY,
            thumbnail_small_url=renditions.url(THUMBNAIL_SMALL),
            thumbnail_url=renditions.url(THUMBNAIL),
            display_url=renditions.url(DISPLAY),
            display_width=display.get("width"),
            display_height=display.get("height"),
            original_url=original_url,
        )


def product_image(viewer, product):
    """A product's photo as ``viewer``'s user gets it."""
    return viewer.view(product.image, product.site_configuration_id)


def site_logo(viewer, site):
    """A site's logo as ``viewer``'s user gets it."""
    return viewer.view(site.logo, site.pk)
