"""What viewers get for product photos and site logos on the pages and in
the admin (``inventory.images``): renditions only, a placeholder that waits
for them, a message when they failed; the API's side is in test_api.py."""

import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Product
from tests.support import clock
from tests.support.modes import use_storages
from tests.support.renditions import default_rendition_name, set_renditions
from tests.support.stores import ACCESS_KEY, REGION, SECRET_KEY


@pytest.fixture
def shop(sites, make_user, local_media):
    site = sites[0]
    product = Product.objects.create(site_configuration=site, name="Riz", cug="R1")
    product.image.save("riz.jpg", ContentFile(b"jpeg"))
    return {
        "site": site,
        "product": product,
        "staff": make_user("staff", site),
        "boss": make_user("boss", site, is_site_admin=True),
    }


def rendition(product, spec):
    return f"/media/{default_rendition_name(product.image.name, spec)}"


def page_of(client, user, url="/"):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def image_tags(page):
    return re.findall(r"<img [^>]*>", page)


def test_the_list_shows_small_renditions_lazily_at_a_fixed_size(client, shop):
    product = shop["product"]
    set_renditions(product.image.name, "ready")

    page = page_of(client, shop["boss"])

    (tag,) = [tag for tag in image_tags(page) if "thumbnail" in tag]
    assert f'src="{rendition(product, "thumb_small")}"' in tag
    assert (
        f'srcset="{rendition(product, "thumb_small")} 1x, {rendition(product, "thumb")} 2x"' in tag
    )
    assert 'loading="lazy"' in tag and 'width="64"' in tag and 'height="64"' in tag
    assert product.image.name not in page, "the original, even to a site admin"


def test_the_product_page_shows_the_display_rendition_at_its_size(client, shop, make_user):
    product = shop["product"]
    set_renditions(product.image.name, "ready")  # display: 1600 × 1200
    viewer = make_user("viewer", shop["site"], permissions=["inventory.view_product"])

    for user in (viewer, shop["staff"]):  # read-only page, and the picker's preview
        page = page_of(client, user, f"/products/{product.pk}/")
        (tag,) = [tag for tag in image_tags(page) if rendition(product, "display") in tag]
        assert product.image.name not in page
        if user == viewer:
            assert 'width="1600"' in tag and 'height="1200"' in tag


@pytest.mark.parametrize("url", ["/", "/products/{pk}/"])
def test_a_photo_being_made_shows_a_placeholder_that_waits_for_it(client, shop, url):
    product = shop["product"]
    set_renditions(product.image.name, "pending")

    page = page_of(client, shop["staff"], url.format(pk=product.pk))

    status_url = re.search(r'data-rendition-status="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "/static/inventory/renditions.js" in page
    assert not [tag for tag in image_tags(page) if "/media/" in tag]
    assert client.get(status_url).json()["state"] == "pending"

    set_renditions(product.image.name, "ready")
    answer = client.get(status_url).json()
    assert answer["state"] == "ready"
    assert rendition(product, "thumb" if url == "/" else "display") in answer["html"]


def test_the_lists_placeholders_are_no_live_regions_the_product_pages_is(client, shop):
    """A screen reader speaks every live region: a list of 20 products whose
    photos are being made would say "being prepared" 20 times over. The
    list's thumbnails are decorative (the name is beside them) and wait
    silently; the product page's one picture still says its state."""
    for number in range(3):
        product = Product.objects.create(
            site_configuration=shop["site"], name=f"Mil {number}", cug=f"M{number}"
        )
        product.image.save("mil.jpg", ContentFile(b"jpeg"))
        set_renditions(product.image.name, "pending")

    placeholders = re.findall(
        r"<span [^>]*data-rendition-status=[^>]*>", page_of(client, shop["staff"])
    )

    assert len(placeholders) == 4
    assert not [tag for tag in placeholders if "role=" in tag or "aria-live" in tag]
    page = page_of(client, shop["staff"], f"/products/{product.pk}/")
    (placeholder,) = re.findall(r"<span [^>]*data-rendition-status=[^>]*>", page)
    assert 'role="status"' in placeholder


def test_a_photo_made_while_the_page_waited_keeps_the_pages_text_alternative(
    client, shop, make_user
):
    """The read-only product page names its photo after the product; the
    picture that replaces its placeholder once made says the same, not
    nothing."""
    product = shop["product"]
    set_renditions(product.image.name, "pending")
    viewer = make_user("viewer", shop["site"], permissions=["inventory.view_product"])
    page = page_of(client, viewer, f"/products/{product.pk}/")
    status_url = re.search(r'data-rendition-status="([^"]+)"', page).group(1).replace("&amp;", "&")

    set_renditions(product.image.name, "ready")
    (tag,) = image_tags(client.get(status_url).json()["html"])
    assert 'alt="Riz"' in tag


def test_a_photo_never_asked_for_waits_like_one_being_made(client, shop):
    page = page_of(client, shop["staff"])
    assert "data-rendition-status" in page


@pytest.mark.parametrize("url", ["/", "/products/{pk}/"])
def test_a_photo_that_could_not_be_read_says_so_and_shows_no_image(client, shop, url, settings):
    settings.LANGUAGE_CODE = "en"
    product = shop["product"]
    set_renditions(product.image.name, "failed")

    page = page_of(client, shop["staff"], url.format(pk=product.pk))

    assert "This photo could not be read." in page
    assert "data-rendition-status" not in page
    assert not [tag for tag in image_tags(page) if "/media/" in tag]


def test_the_failure_message_is_translated(client, shop):
    set_renditions(shop["product"].image.name, "failed")
    page = page_of(client, shop["staff"])  # French by default
    assert "Cette photo n'a pas pu être lue." in page


def test_the_status_of_another_sites_image_is_not_found(client, shop, sites, make_user):
    outsider = make_user("outsider", sites[1])
    client.force_login(outsider)
    assert client.get(f"/images/product/{shop['product'].pk}/").status_code == 404
    assert client.get(f"/images/logo/{shop['site'].pk}/").status_code == 404


@pytest.mark.parametrize("kind", ["product", "logo"])
@pytest.mark.parametrize("pk", ["99999999999999999999", "9" * 5000])
def test_the_status_of_an_id_no_row_could_have_is_not_found(client, shop, kind, pk):
    """Beyond 4,300 digits, Python will not read a number (CVE-2020-10735):
    the id that lookup failed on was a 500."""
    client.raise_request_exception = False
    client.force_login(shop["staff"])
    assert client.get(f"/images/{kind}/{pk}/").status_code == 404


def test_the_site_settings_show_the_logo_rendition(client, shop):
    site = shop["site"]
    site.logo.save("logo.png", ContentFile(b"png"))
    set_renditions(site.logo.name, "ready")

    page = page_of(client, shop["boss"], "/site/")

    assert "renditions/" in page and "-display-1600q" in page
    assert site.logo.name not in page


def test_the_admin_previews_renditions_only(client, shop, django_user_model):
    product = shop["product"]
    root = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    url = f"/admin/inventory/product/{product.pk}/change/"

    set_renditions(product.image.name, "pending")
    assert "data-rendition-status" in page_of(client, root, url)

    set_renditions(product.image.name, "ready")
    page = page_of(client, root, url)
    assert rendition(product, "display") in page
    assert product.image.name not in page


@pytest.fixture
def s3_mode(settings):
    """S3 mode; signing URLs needs no store."""
    settings.AWS_STORAGE_BUCKET_NAME = "media-test"
    settings.AWS_ACCESS_KEY_ID = ACCESS_KEY
    settings.AWS_SECRET_ACCESS_KEY = SECRET_KEY
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_S3_CUSTOM_DOMAIN = None
    use_storages(settings)


def test_a_rendition_url_is_the_same_in_two_renders_a_second_apart(client, shop, s3_mode):
    set_renditions(shop["product"].image.name, "ready")

    first = page_of(client, shop["staff"])
    with clock.shifted(1):
        second = page_of(client, shop["staff"])

    (srcset,) = re.findall(r'srcset="([^"]+)"', first)
    assert "X-Amz-Signature" in srcset
    assert re.findall(r'srcset="([^"]+)"', second) == [srcset]


def test_the_list_fetches_renditions_in_one_query(client, shop, django_assert_max_num_queries):
    client.force_login(shop["staff"])

    def add_products(count, start):
        for number in range(start, start + count):
            product = Product.objects.create(
                site_configuration=shop["site"], name=f"P{number}", cug=f"P{number}"
            )
            product.image.save("p.jpg", ContentFile(b"jpeg"))
            set_renditions(product.image.name, "ready")

    add_products(1, 0)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    add_products(12, 1)
    with django_assert_max_num_queries(len(few)):
        page = client.get("/").content.decode()
    assert page.count('loading="lazy"') == 13  # and Riz, whose renditions are not made
