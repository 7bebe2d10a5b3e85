"""The admin's direct-upload widget in real Chromium, in both storage modes:
the image goes straight to the store, the form's save attaches it."""

import time

import pytest

from inventory.models import Product
from tests.support.browser import (
    log_in,
    log_server_requests,
    lose_the_network_at_the_store,
    store_refuses_as_expired,
)
from tests.support.images import jpeg, png
from tests.support.renditions import default_rendition_name
from tests.support.stores import store_of

UPLOADED = "Image envoyée : enregistrez pour l'appliquer."


@pytest.fixture
def store(site_mode, request):
    return store_of(site_mode, request)


@pytest.fixture
def clerk(shop, make_user):
    return make_user("clerk", shop["site"], is_staff=True)


@pytest.fixture
def server_log(request):
    return log_server_requests(request)


def media_keys(store):
    return [key for key in store.keys() if key.startswith("media/")]


def pick(page, name, mime_type, data):
    page.set_input_files(
        ".direct-upload input[type=file]",
        files=[{"name": name, "mimeType": mime_type, "buffer": data}],
    )


def assert_no_image_bytes_reached_django(site_mode, server_log):
    if site_mode != "s3":
        return  # the emulator is Django: there the bytes go to it by design
    for _method, path, content_type, length in server_log:
        assert not content_type.startswith("multipart/"), path
        assert length < 4096, path


def test_staff_change_a_product_photo_in_the_admin(
    site_mode, page, live_server, shop, clerk, store, server_log
):
    product = shop["product"]
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/inventory/product/{product.pk}/change/")

    pick(page, "riz.jpg", "image/jpeg", jpeg((900, 600), color=(180, 90, 20)))
    page.wait_for_selector(f'.direct-upload .status:text("{UPLOADED}")')
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    product.refresh_from_db()
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    assert media_keys(store) == ["media/" + product.image.name]
    # The preview is the display rendition (made once the save committed),
    # never the original: the admin shows what the pages show.
    preview = page.locator(".direct-upload img.preview")
    src = preview.get_attribute("src")
    assert default_rendition_name(product.image.name, "display") in src
    assert product.image.name not in src
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [900, 600]
    assert_no_image_bytes_reached_django(site_mode, server_log)

    # An invalid file: an error on the field, the old image stays.
    image = product.image.name
    pick(page, "notes.jpg", "image/jpeg", b"Liste des courses: riz, huile, sucre.\n")
    page.wait_for_selector(f'.direct-upload .status:text("{UPLOADED}")')
    page.fill("input[name=name]", "Riz long")
    page.click("input[name=_save]")
    error = page.locator(".errorlist").first
    error.wait_for()
    assert "n'est pas une image JPEG, PNG ou WebP" in error.text_content()
    assert page.input_value("input[name=name]") == "Riz long"
    product.refresh_from_db()
    assert (product.name, product.image.name) == ("Riz", image)
    assert_no_image_bytes_reached_django(site_mode, server_log)


def test_the_add_form_creates_the_product_with_its_photo(
    site_mode, page, live_server, shop, clerk, store, server_log
):
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/inventory/product/add/")

    page.fill("input[name=name]", "Huile")
    page.fill("input[name=cug]", "H-1")
    pick(page, "huile.png", "image/png", png((400, 300)))
    page.wait_for_selector(f'.direct-upload .status:text("{UPLOADED}")')
    page.click("input[name=_addanother]")
    page.wait_for_selector(".messagelist .success")

    product = Product.objects.get(cug="H-1")
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    assert media_keys(store) == ["media/" + product.image.name]
    assert page.input_value(".direct-upload input.ticket") == "", "a fresh form for the next"
    assert_no_image_bytes_reached_django(site_mode, server_log)


def test_a_dropped_photo_shows_progress_and_cancel_stops_it(
    site_mode, page, live_server, shop, clerk, store
):
    product = shop["product"]
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/inventory/product/{product.pk}/change/")
    # The post to the store never answers, as on a slow network.
    held = []
    page.route(
        "**/*",
        lambda route: (
            held.append(route)
            if route.request.method == "POST" and "/api/" not in route.request.url
            else route.continue_()
        ),
    )

    page.evaluate(
        """bytes => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "riz.png", {type: "image/png"}));
            document.querySelector(".direct-upload .dropzone")
                .dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }""",
        list(png((200, 100))),
    )
    progress = page.locator(".direct-upload .progress")
    progress.wait_for()
    page.locator(".direct-upload .preview").wait_for()
    # Cancel while the file is on its way (the photo is prepared and its
    # ticket asked for first, which takes a while on a loaded machine).
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.click(".direct-upload .cancel")

    page.wait_for_selector(".direct-upload .error:text('Envoi annulé.')")
    assert progress.is_hidden()
    assert page.input_value(".direct-upload input.ticket") == ""
    assert held, "the file was on its way to the store"
    page.unroute("**/*")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    product.refresh_from_db()
    assert not product.image


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_policy_that_keeps_expiring_is_said_in_the_users_language(
    site_mode, page, live_server, shop, clerk
):
    """After the module's two renewals, the store's "Policy expired" (in
    English) is the failure's detail: the widget says it in French."""
    product = shop["product"]
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/inventory/product/{product.pk}/change/")
    store_refuses_as_expired(page)

    pick(page, "riz.jpg", "image/jpeg", jpeg((640, 480)))

    page.wait_for_selector(
        ".direct-upload .error:text(\"L'envoi a pris trop de temps et a expiré. "
        'Vérifiez votre connexion et réessayez.")'
    )
    assert page.input_value(".direct-upload input.ticket") == ""


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_an_upload_that_loses_the_network_waits_for_it_and_goes_on(
    site_mode, page, live_server, shop, clerk
):
    product = shop["product"]
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/inventory/product/{product.pk}/change/")
    back = lose_the_network_at_the_store(page)
    pick(page, "riz.jpg", "image/jpeg", jpeg((640, 480)))

    page.wait_for_selector(
        '.direct-upload .status:text("Pas de réseau : l\'envoi reprendra dès son retour.")'
    )
    back()
    page.wait_for_selector(f'.direct-upload .status:text("{UPLOADED}")')
    assert page.input_value(".direct-upload input.ticket")


CHOOSE_SITE = "Choisissez le site : l'image est envoyée dès qu'il est choisi."


def test_a_superusers_new_photo_follows_the_site_the_add_form_names(
    site_mode, page, live_server, shop, sites, store, django_user_model
):
    """The widget asks for the photo's ticket for the site the form names,
    and again when it changes: saved, the product and its photo are of the
    site chosen last. The ticket was of the session's site whatever the
    form said, and the save was refused."""
    one, two = sites
    django_user_model.objects.create_superuser("root", password="pw", site_configuration=one)
    log_in(page, live_server, "root")
    page.goto(f"{live_server.url}/admin/inventory/product/add/")
    site = "select[name=site_configuration]"
    assert page.input_value(site) == str(one.pk)
    page.fill("input[name=name]", "Huile")
    page.fill("input[name=cug]", "H-1")

    pick(page, "huile.png", "image/png", png((400, 300)))
    page.wait_for_selector(f'.direct-upload .status:text("{UPLOADED}")')
    first = page.input_value(".direct-upload input.ticket")
    page.select_option(site, "")
    page.wait_for_selector(f'.direct-upload .error:text("{CHOOSE_SITE}")')
    assert page.input_value(".direct-upload input.ticket") == ""
    page.select_option(site, str(two.pk))
    page.wait_for_selector(f'.direct-upload .status:text("{UPLOADED}")')
    assert page.input_value(".direct-upload input.ticket") not in ("", first)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    product = Product.objects.get(cug="H-1")
    assert product.site_configuration == two
    assert product.image.name.startswith(f"sites/{two.pk}/products/")
    assert "media/" + product.image.name in media_keys(store)
