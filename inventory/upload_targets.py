"""
What the upload app may attach to in this project: product photos and site
logos, each in its own site's folder. Registered in ``InventoryConfig.ready``.
"""

from inventory.models import Configuration, Product
from inventory.permissions import ADD, CHANGE, can_act_on_products, can_manage_site, in_own_site
from inventory.querysets import ConfigurationQuerySet, ProductQuerySet
from uploads.conf import MIB
from uploads.errors import NotFound, PermissionDenied
from uploads.statements import object_by_pk
from uploads.targets import UploadTarget


class SiteScopedTarget(UploadTarget):
    """A target whose objects are a site's rows: a user sees those their
    site scoping reaches, ``visible_to`` in SQL, ``in_own_site`` of one row
    (the same rule, ``inventory.permissions``), which lets a ticket and a
    confirm read the row by id alone (``UploadTarget.find_object``)."""

    def get_queryset(self, user):
        return self.model.objects.visible_to(user)

    def find_object(self, user, object_id, *, lock=False):
        if lock:
            return super().find_object(user, object_id, lock=lock)
        obj = object_by_pk(self.model, object_id)
        if obj is None or not in_own_site(user, self.get_site_id(obj)):
            return None
        return obj


class ProductImageTarget(SiteScopedTarget):
    kind = "product"
    model = Product
    field_name = "image"
    folder = "products"
    site_field = ProductQuerySet.site_field
    new_objects = True
    # Size: the UPLOADS MAX_SIZE (UPLOADS_MAX_SIZE, 10 MiB by default).

    def has_permission(self, user, product):
        return can_act_on_products(user, CHANGE, product)

    def get_new_object_site_id(self, user, site_id):
        """A new product goes to the site the request acts for (a
        superuser's choice of the session, ``inventory.sites``): its photo
        waits in that site's folder. Anyone else's request acts for their
        own site, and a site they may not act on is not found, whoever
        named it."""
        if not can_act_on_products(user, ADD):
            raise PermissionDenied()
        if site_id is not None and not in_own_site(user, site_id):
            raise NotFound()
        return site_id


class SiteLogoTarget(SiteScopedTarget):
    kind = "logo"
    model = Configuration
    field_name = "logo"
    folder = "config"
    site_field = ConfigurationQuerySet.site_field
    max_size = 2 * MIB
    max_side = 4096

    def has_permission(self, user, configuration):
        return can_manage_site(user, configuration)

    def get_default_object_id(self, user):
        return user.site_configuration_id
