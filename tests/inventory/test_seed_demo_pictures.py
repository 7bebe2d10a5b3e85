"""seed_demo's pictures: a logo per site and a photo on most products,
attached through ticket, store and confirm in each storage mode, once."""

import io

import pytest
from django.core.management import call_command
from PIL import Image

from inventory import demo_images
from inventory.demo_images import product_image, site_logo
from inventory.models import Configuration, Product, User
from tests.support.stores import LocalStore, S3Store
from uploads.keys import media_key
from uploads.models import UploadTicket

# kind: (format, content type, folder, largest side, most bytes). Staff pay
# for their mobile data: the first page's pictures must stay small.
EXPECTED = {
    "logo": ("PNG", "image/png", "config", 512, 16_000),
    "product": ("JPEG", "image/jpeg", "products", 1024, 60_000),
}


@pytest.fixture
def store(storage_mode, local_media, transactional_db, request):
    """Real commits: incoming objects are deleted by on-commit callbacks."""
    if storage_mode == "s3":
        return S3Store(request.getfixturevalue("s3_client"), request.getfixturevalue("s3_bucket"))
    return LocalStore(local_media)


def seed(*args):
    output = io.StringIO()
    call_command("seed_demo", *args, stdout=output)
    return output.getvalue()


def attached():
    """Every picture the demo rows point to, as (kind, row, bucket key)."""
    pictures = [("logo", site, media_key(site.logo.name)) for site in Configuration.objects.all()]
    pictures += [
        ("product", product, media_key(product.image.name))
        for product in Product.objects.exclude(image="")
    ]
    return pictures


def site_of(kind, row):
    return row if kind == "logo" else row.site_configuration


def test_each_site_gets_a_logo_and_most_products_a_photo(store):
    seed()

    sites = Configuration.objects.all()
    assert len(sites) == 2 and all(site.logo for site in sites)
    for site in sites:
        products = site.products.all()
        with_photo = [product for product in products if product.image]
        assert len(with_photo) > len(products) / 2, f"{site} shows mostly grey squares"


def test_pictures_are_small_valid_images_in_their_site_folder(store):
    seed()

    pictures = attached()
    assert sorted(store.keys()) == sorted(key for _, _, key in pictures), "nothing else stored"
    for kind, row, key in pictures:
        fmt, content_type, folder, largest_side, most_bytes = EXPECTED[kind]
        assert key.startswith(f"media/sites/{site_of(kind, row).pk}/{folder}/")
        assert "/incoming/" not in key
        body = store.read(key)
        assert len(body) <= most_bytes
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            assert image.format == fmt
            assert max(image.size) <= largest_side
        if store.mode == "s3":
            head = store.client.head_object(Bucket=store.bucket, Key=key)
            assert head["ContentType"] == content_type


def test_pictures_come_through_confirmed_tickets_of_the_site_admin(store):
    seed()

    pictures = attached()
    assert UploadTicket.objects.count() == len(pictures)
    for kind, row, key in pictures:
        ticket = UploadTicket.objects.get(kind=kind, object_id=row.pk)
        assert ticket.status == UploadTicket.Status.CONFIRMED
        assert ticket.final_key == key
        assert ticket.user.is_site_admin
        assert ticket.user.site_configuration == site_of(kind, row)


def test_a_second_run_adds_nothing_and_keeps_the_pictures(store):
    seed()
    keys, tickets, pictures = store.keys(), UploadTicket.objects.count(), attached()

    output = seed("--password", "other-pass")

    assert store.keys() == keys
    assert UploadTicket.objects.count() == tickets
    assert attached() == pictures
    assert "Demo pictures: 0 uploaded" in output
    assert User.objects.get(username="dakar-admin").check_password("other-pass")


def test_a_shop_bearing_a_demo_sites_name_is_left_alone(store):
    """Site names are labels: another shop may bear a demo site's, and a
    second run still finds its own sites by their admins."""
    seed()
    demo = User.objects.get(username="dakar-admin").site_configuration
    namesake = Configuration.objects.create(site_name=demo.site_name, city="Thiès")

    seed()

    assert User.objects.get(username="dakar-admin").site_configuration == demo
    namesake.refresh_from_db()
    assert (namesake.city, namesake.products.count(), bool(namesake.logo)) == ("Thiès", 0, False)


def test_a_picture_missing_from_the_store_is_attached_again(store):
    seed()
    kind, row, lost = attached()[0]
    if store.mode == "s3":
        store.client.delete_object(Bucket=store.bucket, Key=lost)
    else:
        store.path(lost).unlink()

    output = seed()

    assert "Demo pictures: 1 uploaded" in output
    row.refresh_from_db()
    key = media_key((row.logo if kind == "logo" else row.image).name)
    assert key != lost and key in store.keys()


def test_the_same_product_gets_the_same_picture():
    assert product_image("Attiéké 1 kg", "ABJ-001", "bowl") == product_image(
        "Attiéké 1 kg", "ABJ-001", "bowl"
    )
    assert product_image("Attiéké 1 kg", "ABJ-001", "bowl") != product_image(
        "Attiéké 1 kg", "ABJ-002", "bowl"
    )
    assert site_logo("Boutique Dakar") == site_logo("Boutique Dakar")


def test_without_a_system_font_accents_are_dropped_not_boxed(monkeypatch):
    """The app's image has no fonts: Pillow's own then draws the names."""
    monkeypatch.setattr(demo_images, "FONT_FILES", [])
    demo_images.load_font.cache_clear()
    try:
        font = demo_images.load_font(40)
        assert demo_images.fold("Attiéké, Côte d'Ivoire", font) == "Attieke, Cote d'Ivoire"
        with Image.open(io.BytesIO(product_image("Attiéké 1 kg", "ABJ-001", "bowl"))) as image:
            assert image.format == "JPEG"
    finally:
        demo_images.load_font.cache_clear()
