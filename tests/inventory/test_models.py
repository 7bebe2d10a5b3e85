"""Model fields store names relative to the media root, inside their own
site's folder, and work from the field in both modes."""

import re

import pytest
import requests
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from inventory.models import Configuration, Product
from inventory.storage import ProductImageStorage


def test_product_image_lives_in_its_site_folder(storage_mode, sites):
    site_two = sites[1]
    product = Product.objects.create(site_configuration=site_two, name="Riz", cug="R1")

    product.image.save("IMG_0001.JPG", ContentFile(b"jpeg"))
    product.refresh_from_db()

    assert re.fullmatch(rf"sites/{site_two.pk}/products/[0-9a-f]{{32}}\.jpg", product.image.name)
    with product.image.open() as handle:
        assert handle.read() == b"jpeg"
    if storage_mode == "s3":
        assert requests.get(product.image.url, timeout=10).content == b"jpeg"
    else:
        assert product.image.url == f"/media/{product.image.name}"

    name = product.image.name
    assert ProductImageStorage(site_two.pk).exists(name)
    product.image.delete()
    assert not ProductImageStorage(site_two.pk).exists(name)
    assert Product.objects.get().image.name == ""


def test_a_name_saved_by_a_site_storage_works_from_the_field(storage_mode, sites):
    site = sites[0]
    storage = ProductImageStorage(site.pk)
    name = storage.save("photo.jpg", ContentFile(b"bytes"))
    product = Product.objects.create(
        site_configuration=site, name="Huile", cug="H1", image=storage.media_name(name)
    )

    assert product.image.name == f"sites/{site.pk}/products/photo.jpg"
    with product.image.open() as handle:
        assert handle.read() == b"bytes"
    product.image.delete(save=False)
    assert not storage.exists(name)


def test_product_without_site_uses_the_default_folder(storage_mode, db):
    product = Product.objects.create(name="Sucre", cug="S1")
    product.image.save("a.png", ContentFile(b"png"))
    assert product.image.name.startswith("sites/default/products/")
    assert ProductImageStorage(None).exists(product.image.name)


def test_logo_of_a_new_site_goes_to_that_site(storage_mode, db):
    site = Configuration(site_name="Nouvelle boutique")
    site.logo = ContentFile(b"png", name="logo.png")
    site.save()

    site.refresh_from_db()
    assert site.logo.name.startswith(f"sites/{site.pk}/config/")
    assert site.logo.name.endswith(".png")
    with site.logo.open() as handle:
        assert handle.read() == b"png"


def test_cug_is_unique_per_site_only(sites):
    one, two = sites
    Product.objects.create(site_configuration=one, name="A", cug="X")
    Product.objects.create(site_configuration=two, name="A", cug="X")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(site_configuration=one, name="B", cug="X")
