"""The image picker as shop staff see it on a phone: take a photo or choose
one, with a finger or the keyboard, in French."""

import pytest

from inventory.models import Product
from tests.support.browser import (
    CONFIRMS,
    confirms_refused,
    lan_url,
    log_in,
    lose_the_network_at_the_store,
)
from tests.support.images import jpeg
from tests.support.mobile_data import NETWORK
from uploads.models import UploadTicket

TAKE = "Prendre une photo"
CHOOSE = "Choisir une photo"
SAVED = ".picker .status:text('Photo enregistrée.')"

# What the page shows does not depend on the storage mode.
local_only = pytest.mark.parametrize("site_mode", ["local"], indirect=True)


def open_product(phone, live_server, shop, base_url=None):
    base_url = base_url or live_server.url
    log_in(phone, live_server, "staff", base_url)
    phone.goto(f"{base_url}/products/{shop['product'].pk}/")
    # Playwright turns on Chromium's file chooser interception when the first
    # listener is added, asynchronously: a key press sent at once may open a
    # native chooser instead, which headless Chromium never shows. A listener
    # added now, and a round trip, make it in time.
    phone.on("filechooser", lambda chooser: None)
    phone.evaluate("1")


def send(file_chooser, name="riz.jpg"):
    file_chooser.set_files([{"name": name, "mimeType": "image/jpeg", "buffer": jpeg((640, 480))}])


@local_only
def test_two_buttons_and_no_raw_file_input(site_mode, phone, live_server, shop):
    open_product(phone, live_server, shop)

    take, choose = phone.get_by_label(TAKE), phone.get_by_label(CHOOSE)
    assert take.get_attribute("capture") == "environment", "opens the camera"
    assert choose.get_attribute("capture") is None, "opens the gallery and files"
    for name in (TAKE, CHOOSE):
        button = phone.locator(".picker label", has_text=name)
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 120, f"{name}: a target for a finger"
    for native in phone.locator(".picker input[type=file]").all():
        # Out of sight ("Choose File", "No file chosen"), yet not removed:
        # display:none would take it out of the tab order.
        box = native.bounding_box()
        assert box["width"] <= 1 and box["height"] <= 1
        assert native.evaluate("el => getComputedStyle(el).display") != "none"
    assert phone.locator(".picker .insecure").is_hidden(), "localhost is a secure context"


@local_only
@pytest.mark.parametrize("name, capture", [(TAKE, "environment"), (CHOOSE, None)])
def test_each_button_opens_a_file_chooser(site_mode, phone, live_server, shop, name, capture):
    open_product(phone, live_server, shop)

    with phone.expect_file_chooser() as chooser:
        phone.locator(".picker label", has_text=name).tap()

    assert chooser.value.element.get_attribute("capture") == capture


@local_only
def test_keyboard_reaches_and_opens_both_buttons(site_mode, phone, live_server, shop):
    open_product(phone, live_server, shop)

    focused = []
    for _ in range(30):
        phone.keyboard.press("Tab")
        label = phone.evaluate("document.activeElement.labels?.[0]?.textContent.trim()")
        if label in (TAKE, CHOOSE):
            # The focus ring is drawn on the visible button, not on the input.
            outline = phone.evaluate(
                "getComputedStyle(document.activeElement.labels[0]).outlineStyle"
            )
            assert outline == "solid", f"{label}: no visible focus"
            with phone.expect_file_chooser() as chooser:
                phone.keyboard.press("Enter" if label == TAKE else "Space")
            focused.append((label, chooser.value.element.get_attribute("capture")))
            if len(focused) == 1:
                # Dismissed, as a user backing out of the camera would, before
                # the next chooser opens.
                chooser.value.set_files([])
        if len(focused) == 2:
            break
    assert focused == [(TAKE, "environment"), (CHOOSE, None)]
    send(chooser.value)
    phone.wait_for_selector(SAVED)


@pytest.mark.parametrize("name", [TAKE, CHOOSE])
def test_a_photo_taken_or_chosen_is_uploaded(site_mode, phone, live_server, shop, name):
    product = shop["product"]
    open_product(phone, live_server, shop)

    with phone.expect_file_chooser() as chooser:
        phone.locator(".picker label", has_text=name).tap()
    send(chooser.value)

    phone.wait_for_selector(SAVED)
    product.refresh_from_db()
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    assert UploadTicket.objects.get().sha256, "the store is held to the photo's checksum"


def test_on_plain_http_from_the_lan_it_says_so_and_uploads(
    site_mode, phone, live_server, shop, settings
):
    """A phone on the shop's network opening http://192.168.x.y:8000/: no
    WebCrypto, so no checksum; the picker says so and the photo goes up."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "shop.lan.test"]
    product = shop["product"]
    open_product(phone, live_server, shop, lan_url(live_server))
    assert not phone.evaluate("window.isSecureContext")

    notice = phone.locator(".picker .insecure")
    assert notice.is_visible()
    assert notice.text_content() == (
        "Cette page n'est pas servie en HTTPS : les photos sont envoyées sans contrôle d'intégrité."
    )
    with phone.expect_file_chooser() as chooser:
        phone.locator(".picker label", has_text=CHOOSE).tap()
    send(chooser.value)

    phone.wait_for_selector(SAVED)
    product.refresh_from_db()
    assert product.image
    assert UploadTicket.objects.get().sha256 == ""


def send_photo(phone, name="riz.jpg"):
    with phone.expect_file_chooser() as chooser:
        phone.locator(".picker label", has_text=CHOOSE).tap()
    send(chooser.value, name)


RETRY = "Réessayer"
OFFLINE = "Pas de réseau : l'envoi reprendra dès son retour."


def count_requests(phone):
    """The upload's requests the phone sends, by step."""
    sent = {"ticket": 0, "storage": 0, "confirm": 0}

    def record(request):
        if request.url.endswith("/confirm/"):
            sent["confirm"] += 1
        elif request.url.endswith("/api/uploads/tickets/"):
            sent["ticket"] += 1
        elif "/uploads/emulator/" in request.url:
            sent["storage"] += 1

    phone.on("request", record)
    return sent


@local_only
def test_a_phone_out_of_coverage_mid_upload_carries_on_once_back(
    site_mode, phone, live_server, shop
):
    """The network drops while the photo goes up (a dead zone, a lift):
    the picker says it waits, and once the network is back the photo goes
    up without the user doing anything, on the same ticket."""
    product = shop["product"]
    open_product(phone, live_server, shop)
    sent = count_requests(phone)
    back = lose_the_network_at_the_store(phone, NETWORK)
    send_photo(phone)

    phone.wait_for_selector(f'.picker .status:text("{OFFLINE}")')
    assert phone.locator(".picker .retry").is_hidden(), "nothing to do but wait"
    back()

    phone.wait_for_selector(SAVED)
    product.refresh_from_db()
    assert product.image
    assert sent == {"ticket": 1, "storage": 2, "confirm": 1}


@local_only
def test_a_photo_chosen_while_another_waits_for_the_network_replaces_it(
    site_mode, phone, live_server, shop
):
    """Told that the upload waits for the network, the user picks another
    photo: once the network is back, that one goes up, and the first is
    given up. Both went on, and the first could be attached last."""
    product = shop["product"]
    open_product(phone, live_server, shop)
    sent = count_requests(phone)
    back = lose_the_network_at_the_store(phone, NETWORK)
    send_photo(phone, "riz.jpg")
    phone.wait_for_selector(f'.picker .status:text("{OFFLINE}")')
    send_photo(phone, "huile.jpg")  # its ticket's request meets no network either
    phone.wait_for_function("() => !navigator.onLine")
    back()

    phone.wait_for_selector(SAVED)
    phone.wait_for_timeout(1000)  # time for a first upload still going to show itself
    product.refresh_from_db()
    (confirmed,) = UploadTicket.objects.filter(status=UploadTicket.Status.CONFIRMED)
    assert confirmed.filename == "huile.jpg"
    assert product.image.name == confirmed.final_key.removeprefix("media/")
    assert sent["storage"] == 2, "the first photo's lost post, then the second photo's"
    assert phone.locator(".picker .progress").is_hidden()
    assert phone.locator(".picker .error").text_content() == ""


@local_only
def test_try_again_resumes_a_failed_upload_without_choosing_the_photo_again(
    site_mode, phone, live_server, shop
):
    """A confirm that fails for a reason that may pass (here the server's
    limit): the page shows the image the product still has, and "Try
    again" sends the same photo's confirm, nothing else."""
    product = shop["product"]
    open_product(phone, live_server, shop)
    send_photo(phone)
    phone.wait_for_selector(SAVED)
    product.refresh_from_db()
    first_image = product.image.name
    preview = phone.locator(".picker .preview")
    saved_src = preview.get_attribute("src")

    sent = count_requests(phone)
    confirms_refused(phone, "Trop de demandes.")
    send_photo(phone, "huile.jpg")
    phone.wait_for_selector(".picker .error:text('Trop de demandes.')")

    retry = phone.get_by_role("button", name=RETRY)
    assert retry.is_visible()
    box = retry.bounding_box()
    assert box["height"] >= 44, "a target for a finger"
    assert preview.get_attribute("src") == saved_src, "the product's image, not the one that failed"
    product.refresh_from_db()
    assert product.image.name == first_image

    phone.unroute(CONFIRMS)
    retry.tap()

    phone.wait_for_selector(SAVED)
    assert retry.is_hidden()
    product.refresh_from_db()
    assert product.image.name != first_image
    assert sent == {"ticket": 1, "storage": 1, "confirm": 2}


@local_only
def test_a_photo_refused_for_good_offers_no_try_again(site_mode, phone, live_server, shop):
    open_product(phone, live_server, shop)

    with phone.expect_file_chooser() as chooser:
        phone.locator(".picker label", has_text=CHOOSE).tap()
    chooser.value.set_files([{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"riz"}])

    phone.wait_for_selector(".picker .error:not(:empty)")
    assert phone.locator(".picker .retry").is_hidden()


@local_only
def test_try_again_for_a_new_products_photo_lands_on_its_page(site_mode, phone, live_server, shop):
    """A new product saved with its photo, whose confirm failed: the product
    exists, its page says so, and "Try again" attaches the photo, then goes
    to the product's page, as a save that went well does."""
    log_in(phone, live_server, "staff")
    phone.goto(f"{live_server.url}/products/new/")
    phone.fill("input[name=name]", "Huile d'arachide")
    phone.fill("input[name=cug]", "H-5")
    phone.on("filechooser", lambda chooser: None)
    send_photo(phone, "huile.jpg")
    confirms_refused(phone, "Trop de demandes.")
    phone.locator(".product-form button[type=submit]").tap()
    phone.wait_for_selector(".picker .error:text('Trop de demandes.')")
    product = Product.objects.get(cug="H-5")
    assert not product.image

    # The address is the product's already (history.replaceState): the
    # page loaded there once the photo is saved is what tells.
    page_url = f"{live_server.url}/products/{product.pk}/"
    assert phone.url == page_url
    phone.unroute(CONFIRMS)
    with phone.expect_navigation(url=page_url):
        phone.get_by_role("button", name=RETRY).tap()

    product.refresh_from_db()
    assert product.image
