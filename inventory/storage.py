"""
The storages of inventory's files: product photos and site logos, each in
its own site's folder.

Defined from inventory's upload targets (``inventory.upload_targets``), so
that a folder and a kind are named once: the files the API attaches and the
files these storages read and write are the same ones. The app's own code
goes through the upload flow; these are for code that handles the files
directly (scripts, the shell, tests).
"""

from inventory.upload_targets import ProductImageTarget, SiteLogoTarget
from uploads.media import SiteStorage
from uploads.sites import get_user_site_id


class ProductImageStorage(SiteStorage):
    """``media/sites/<site_id>/products/``"""

    folder_name = ProductImageTarget.folder


class SiteLogoStorage(SiteStorage):
    """``media/sites/<site_id>/config/``"""

    folder_name = SiteLogoTarget.folder


SITE_STORAGES = {
    ProductImageTarget.kind: ProductImageStorage,
    SiteLogoTarget.kind: SiteLogoStorage,
}


def get_current_site_storage(request, kind):
    """The storage of ``kind`` (``"product"`` or ``"logo"``) for the site of
    the requesting user; users without a site get the ``default`` folder."""
    try:
        storage_class = SITE_STORAGES[kind]
    except KeyError:
        raise ValueError(
            f"Unknown storage kind {kind!r}; expected one of {sorted(SITE_STORAGES)}."
        ) from None
    return storage_class(get_user_site_id(request.user))
