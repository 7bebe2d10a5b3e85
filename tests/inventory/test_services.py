"""Deleting products and sites: whatever deletes the rows (the admin's
delete page and its "delete selected" action, a queryset, a cascade from a
site, the services), their images and logos leave the store once the
transaction commits, and a rolled-back delete keeps them. Both storage
modes, with real commits. And the services ask the one permission rule
themselves, for callers such as tasks and commands."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.test import Client

from inventory import services
from inventory.models import Configuration, Product, User
from tests.support.images import jpeg, png
from uploads.models import PendingDeletion

pytestmark = pytest.mark.django_db(transaction=True)

DELETER = ["inventory.view_product", "inventory.delete_product"]


def in_store(field_file):
    return field_file.storage.exists(field_file.name)


def pictured(site, cug):
    """A product of ``site`` whose image is in the store."""
    product = Product.objects.create(site_configuration=site, name=cug, cug=cug)
    product.image.save(f"{cug}.jpg", ContentFile(jpeg()))
    assert in_store(product.image)
    return product


def with_logo(site):
    site.logo.save("logo.png", ContentFile(png()))
    assert in_store(site.logo)
    return site


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def assert_gone(*files):
    for file in files:
        assert not in_store(file), file.name
    assert not PendingDeletion.objects.exists(), "deleted, not only recorded"


@pytest.fixture
def deleter(make_user, sites):
    """Staff of Site One given the permission to delete products."""
    return make_user("deleter", sites[0], permissions=DELETER, is_staff=True)


def test_the_admins_delete_page_deletes_the_image_after_commit(storage_mode, sites, deleter):
    product = pictured(sites[0], "R1")

    response = logged_in(deleter).post(
        f"/admin/inventory/product/{product.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert_gone(product.image)


def test_the_admins_delete_selected_deletes_the_images_of_the_users_site_only(
    storage_mode, sites, deleter
):
    one, two = pictured(sites[0], "R1"), pictured(sites[0], "R2")
    foreign = pictured(sites[1], "A1")

    response = logged_in(deleter).post(
        "/admin/inventory/product/",
        {
            "action": "delete_selected",
            "_selected_action": [one.pk, two.pk, foreign.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert list(Product.objects.all()) == [foreign]
    assert_gone(one.image, two.image)
    assert in_store(foreign.image)


def test_a_queryset_delete_deletes_the_images_after_commit(storage_mode, sites):
    one, two = pictured(sites[0], "R1"), pictured(sites[0], "R2")
    kept = pictured(sites[1], "A1")

    Product.objects.filter(site_configuration=sites[0]).delete()

    assert_gone(one.image, two.image)
    assert in_store(kept.image)


def test_deleting_a_site_in_the_admin_deletes_its_logo_and_its_products_images(storage_mode, sites):
    site = with_logo(sites[0])
    product = pictured(site, "R1")
    kept = pictured(sites[1], "A1")
    root = User.objects.create_superuser("root", "root@example.com", "pw")

    response = logged_in(root).post(
        f"/admin/inventory/configuration/{site.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Configuration.objects.filter(pk=site.pk).exists()
    assert list(Product.objects.all()) == [kept]
    assert_gone(site.logo, product.image)
    assert in_store(kept.image)


def test_a_cascade_from_a_site_deletes_the_logo_and_images_after_commit(storage_mode, sites):
    site = with_logo(sites[0])
    product = pictured(site, "R1")

    site.delete()

    assert_gone(site.logo, product.image)


@pytest.mark.parametrize(
    "delete",
    [
        pytest.param(lambda site, product: product.delete(), id="product"),
        pytest.param(
            lambda site, product: Product.objects.filter(pk=product.pk).delete(), id="queryset"
        ),
        pytest.param(lambda site, product: site.delete(), id="site"),
    ],
)
def test_a_rolled_back_delete_keeps_the_files(storage_mode, sites, delete):
    site = with_logo(sites[0])
    product = pictured(site, "R1")
    pk = product.pk

    with pytest.raises(DatabaseError), transaction.atomic():
        delete(site, product)
        raise DatabaseError("the rest of the request failed")

    assert Product.objects.filter(pk=pk).exists()
    assert in_store(product.image) and in_store(site.logo)
    assert not PendingDeletion.objects.exists()


def test_the_services_delete_only_what_the_user_may(sites, make_user):
    one, other = pictured(sites[0], "R1"), pictured(sites[0], "R2")
    foreign = pictured(sites[1], "A1")
    staff = make_user("staff", sites[0])  # may change products, not delete them
    deleter = make_user("deleter", sites[0], permissions=DELETER)

    with pytest.raises(PermissionDenied):
        services.delete_product(user=staff, product=one)
    with pytest.raises(PermissionDenied):
        services.delete_products(user=staff, products=Product.objects.all())
    with pytest.raises(PermissionDenied):
        services.delete_product(user=deleter, product=foreign)
    assert Product.objects.count() == 3

    services.delete_product(user=deleter, product=one)
    deleted = services.delete_products(user=deleter, products=Product.objects.all())

    assert deleted == 1, "another site's product is out of reach"
    assert list(Product.objects.all()) == [foreign]
    assert_gone(one.image, other.image)
    assert in_store(foreign.image)


def test_only_superusers_delete_sites(sites, make_user):
    boss = make_user("boss", sites[0], is_site_admin=True)
    root = User.objects.create_superuser("root", "root@example.com", "pw")

    with pytest.raises(PermissionDenied):
        services.delete_sites(user=boss, sites=Configuration.objects.filter(pk=sites[0].pk))
    assert services.delete_sites(user=root, sites=Configuration.objects.all()) == 2
    assert not Configuration.objects.exists()
