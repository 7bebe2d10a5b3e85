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
from django.db import transaction

from inventory.models import Configuration, Product
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
    with transaction.atomic():
        # The row as it is now, locked: the caller's copy may predate a
        # confirm that attached a new photo since, and the delete records
        # the photo the instance names (uploads.targets): deleting the copy
        # would leave the new photo in the bucket, named by no row.
        current = Product._base_manager.select_for_update().filter(pk=product.pk).first()
        if current is not None:
            current.delete()


def delete_products(*, user, products):
    """Delete, as ``user``, those of ``products`` (a product queryset) that
    they reach; ``PermissionDenied`` if they may not delete products.
    Returns how many products were deleted."""
    if not can_act_on_products(user, DELETE):
        raise PermissionDenied(REFUSALS[DELETE])
    products = products.visible_to(user)
    with transaction.atomic():
        lock(Product, products)
        _, deleted = products.delete()
    return deleted.get(Product._meta.label, 0)


def delete_sites(*, user, sites):
    """Delete ``sites`` (a site queryset) as ``user``, with their products,
    whose images and the sites' logos go after the commit as any deleted
    row's file does; ``PermissionDenied`` unless ``user`` may delete sites.
    Returns how many sites were deleted."""
    if not can_add_or_delete_sites(user):
        raise PermissionDenied(SITES_REFUSAL)
    sites = sites.visible_to(user)
    with transaction.atomic():
        lock(Configuration, sites)
        lock(Product, Product._base_manager.filter(site_configuration__in=sites.values("pk")))
        _, deleted = sites.delete()
    return deleted.get(sites.model._meta.label, 0)


def lock(model, rows):
    """Lock ``rows`` (a queryset of ``model``) until the transaction ends,
    before a delete reads them: the delete records the files its rows name
    as it reads them, and a confirm that attached a new file between that
    read and the delete would leave its file in the bucket, named by no
    row. Locked, a confirm waits for the delete, then finds no row."""
    pks = rows.order_by().values("pk")
    # In the order of their keys, as every delete locks them: two deletes
    # of overlapping rows then never wait on each other for good.
    locked = model._base_manager.select_for_update().filter(pk__in=pks).order_by("pk")
    list(locked.values_list("pk", flat=True))
