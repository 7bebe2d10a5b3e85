"""What removes inventory's rows, and with them their files, whoever asks:
the pages, the API, the admin, tasks and commands. (The reads are
``visible_to`` on the querysets, ``inventory.querysets``.)

Each service asks the one rule (``inventory.permissions``) itself, so that
no caller can forget it, and reaches only the rows the user reaches.

What happens to the files is not written here, nor in any view: the uploads
app records the file of every deleted row of a target this app registers
(a product's image, a site's logo) with the row, and deletes it once the
transaction commits (``uploads.targets``, from ``post_delete``). That holds
for a bulk delete and for a cascade from a site as for one row, and a
rolled-back delete keeps the files. So deleting is a plain ``delete()``,
and must stay one: raw SQL, or a ``_raw_delete``, would leave files behind.
"""

from django.core.exceptions import PermissionDenied

from inventory.models import Product
from inventory.permissions import (
    DELETE,
    REFUSALS,
    SITES_REFUSAL,
    can_act_on_products,
    can_add_or_delete_sites,
)


def delete_product(*, user, product):
    """Delete ``product`` as ``user``, or ``PermissionDenied`` if they may
    not delete it (another site's product included)."""
    if not can_act_on_products(user, DELETE, product):
        raise PermissionDenied(REFUSALS[DELETE])
    product.delete()


def delete_products(*, user, products):
    """Delete, as ``user``, those of ``products`` (a product queryset) that
    they reach; ``PermissionDenied`` if they may not delete products.
    Returns how many products were deleted."""
    if not can_act_on_products(user, DELETE):
        raise PermissionDenied(REFUSALS[DELETE])
    _, deleted = products.visible_to(user).delete()
    return deleted.get(Product._meta.label, 0)


def delete_sites(*, user, sites):
    """Delete ``sites`` (a site queryset) as ``user``, with their products,
    whose images and the sites' logos go after the commit as any deleted
    row's file does; ``PermissionDenied`` unless ``user`` may delete sites.
    Returns how many sites were deleted."""
    if not can_add_or_delete_sites(user):
        raise PermissionDenied(SITES_REFUSAL)
    _, deleted = sites.visible_to(user).delete()
    return deleted.get(sites.model._meta.label, 0)
