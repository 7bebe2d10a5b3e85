"""What shop staff do in a phone browser, in real Chromium."""

import io
import re

import pytest
from django.core.signals import request_started
from PIL import Image

from inventory.models import Product
from tests.support import photos
from tests.support.browser import log_in, store_refuses_as_expired
from tests.support.images import jpeg, png
from tests.support.stores import bucket_keys, disk_files, is_rendition
from uploads.models import UploadTicket

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def stored_objects(site_mode, request):
    """The media the store holds, as bucket keys, and a reader of one."""
    if site_mode == "s3":
        client = request.getfixturevalue("s3_client")
        bucket = request.getfixturevalue("s3_bucket")
        keys = [key for key in bucket_keys(client, bucket) if key.startswith("media/")]
        return keys, lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read()
    media = request.getfixturevalue("local_media")
    names = disk_files(media) if media.exists() else []
    keys = [f"media/{name}" for name in names if not is_rendition(name)]
    return keys, lambda key: (media / key.removeprefix("media/")).read_bytes()


def watch_progress(page):
    """Record every progress value the picker shows."""
    page.evaluate(
        """() => {
            window.progressSeen = [];
            const picker = document.querySelector('.picker');
            new MutationObserver(() => window.progressSeen.push(Number(picker.dataset.progress)))
                .observe(picker, {attributes: true, attributeFilter: ['data-progress']});
        }"""
    )


def choose_file(page, name, mime_type, data):
    page.set_input_files(
        ".picker .choose input", files=[{"name": name, "mimeType": mime_type, "buffer": data}]
    )


def test_staff_uploads_a_product_photo(site_mode, page, live_server, shop, request, settings):
    product = shop["product"]
    browser_requests = []  # (method, url, content type) as the browser sent them
    page.on(
        "request",
        lambda r: browser_requests.append((r.method, r.url, r.headers.get("content-type", ""))),
    )
    server_log = []  # (method, path, content type, length) as Django received them

    def log_request(sender, environ, **kwargs):
        server_log.append(
            (
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
                environ.get("CONTENT_TYPE", ""),
                int(environ.get("CONTENT_LENGTH") or 0),
            )
        )

    request_started.connect(log_request)
    request.addfinalizer(lambda: request_started.disconnect(log_request))
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    watch_progress(page)

    photo = jpeg((1200, 900), color=(180, 90, 20))
    choose_file(page, "riz.jpg", "image/jpeg", photo)

    page.wait_for_selector(".picker .status:text('Photo enregistrée.')")
    assert max(page.evaluate("window.progressSeen")) == 100
    assert page.locator(".picker .progress").is_hidden(), "the progress bar goes away when done"
    product.refresh_from_db()
    assert re.fullmatch(
        rf"sites/{shop['site'].pk}/products/[0-9a-f]{{32}}\.jpg", product.image.name
    )
    keys, read = stored_objects(site_mode, request)
    assert keys == ["media/" + product.image.name]
    assert read(keys[0]) == photo, "small enough, no EXIF: sent as it was"

    page.goto(f"{live_server.url}/")
    thumbnail = page.locator(".products img.thumbnail").first
    thumbnail.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    source = thumbnail.get_attribute("src")
    if site_mode == "s3":
        assert source.startswith(
            f"{settings.AWS_S3_ENDPOINT_URL}/{request.getfixturevalue('s3_bucket')}/media/sites/"
        )
        # No image bytes reached Django: only small JSON and form posts.
        posts = [entry for entry in server_log if entry[0] == "POST"]
        assert [path for _, path, _, _ in posts if path.startswith("/api/")] == [
            "/api/uploads/tickets/",
            f"/api/uploads/tickets/{UploadTicket.objects.get().pk}/confirm/",
        ]
        for _method, path, content_type, length in server_log:
            assert not content_type.startswith("multipart/"), path
            assert length < 4096, path
        # The photo went to the bucket, as one multipart POST.
        to_bucket = [
            entry
            for entry in browser_requests
            if entry[0] == "POST" and entry[1].startswith(settings.AWS_S3_ENDPOINT_URL)
        ]
        assert len(to_bucket) == 1
        assert to_bucket[0][2].startswith("multipart/form-data")
    else:
        assert source.startswith("/media/sites/")


def test_a_text_file_named_jpg_shows_a_readable_error(site_mode, page, live_server, shop, request):
    product = shop["product"]
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")

    choose_file(page, "notes.jpg", "image/jpeg", b"Liste des courses: riz, huile, sucre.\n")

    error = page.locator(".picker .error")
    error.wait_for()
    page.wait_for_function("el => el.textContent.length > 0", arg=error.element_handle())
    assert (
        error.text_content()
        == "Le fichier n'est pas une image JPEG, PNG ou WebP, ou il est endommagé."
    )
    product.refresh_from_db()
    assert not product.image
    assert stored_objects(site_mode, request)[0] == []


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_an_error_page_of_a_proxy_is_not_shown_in_english(site_mode, page, live_server, shop):
    """A proxy in front of the app answers in HTML (here its rate limit):
    the picker has no detail in the user's language to show, so it shows
    its own message, not the status line's "Too Many Requests"."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    page.route(
        "**/api/uploads/tickets/",
        lambda route: route.fulfill(
            status=429, content_type="text/html", body="<h1>429 Too Many Requests</h1>"
        ),
    )

    choose_file(page, "riz.jpg", "image/jpeg", jpeg((640, 480)))

    page.wait_for_selector('.picker .error:text("L\'envoi a échoué. Réessayez.")')


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_policy_that_keeps_expiring_is_said_in_the_users_language(
    site_mode, page, live_server, shop
):
    """The module renews an expired ticket twice, then gives up with the
    store's own words ("Policy expired", in English): the picker says it
    in French instead."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    tickets = []
    page.on(
        "request",
        lambda r: tickets.append(r.url) if r.url.endswith("/api/uploads/tickets/") else None,
    )
    store_refuses_as_expired(page)

    choose_file(page, "riz.jpg", "image/jpeg", jpeg((640, 480)))

    error = page.locator(".picker .error")
    page.wait_for_function("el => el.textContent.length > 0", arg=error.element_handle())
    assert error.text_content() == (
        "L'envoi a pris trop de temps et a expiré. Vérifiez votre connexion et réessayez."
    )
    assert len(tickets) == 3  # the first ticket and its two renewals
    product.refresh_from_db()
    assert not product.image


def test_site_admin_uploads_the_logo(site_mode, page, live_server, shop, request):
    site = shop["site"]
    log_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/site/")

    choose_file(page, "logo.png", "image/png", png((300, 120)))

    page.wait_for_selector(".picker .status:text('Photo enregistrée.')")
    site.refresh_from_db()
    assert site.logo.name.startswith(f"sites/{site.pk}/config/")
    assert stored_objects(site_mode, request)[0] == ["media/" + site.logo.name]


def test_staff_cannot_open_the_site_settings(site_mode, page, live_server, shop):
    log_in(page, live_server, "staff")
    response = page.goto(f"{live_server.url}/site/")
    assert response.status == 403


def phone_photo():
    """A 4000×3000 JPEG as a phone takes it: rotated by EXIF, with GPS."""
    image = Image.new("RGB", (4000, 3000), (40, 120, 200))
    for x in range(0, 4000, 400):
        image.paste((220, 200, 40), (x, 0, x + 200, 3000))
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # shown turned 90°: 3000 wide, 4000 high
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (14.0, 41.0, 33.0), 3: "W", 4: (17.0, 26.0, 48.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


def test_a_big_phone_photo_is_shrunk_and_stripped(site_mode, page, live_server, shop, request):
    product = shop["product"]
    photo = phone_photo()
    original = Image.open(io.BytesIO(photo))
    assert original.getexif().get_ifd(GPS_IFD), "the test photo carries GPS data"
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")

    choose_file(page, "IMG_0001.jpg", "image/jpeg", photo)

    page.wait_for_selector(".picker .status:text('Photo enregistrée.')", timeout=60_000)
    product.refresh_from_db()
    keys, read = stored_objects(site_mode, request)
    assert keys == ["media/" + product.image.name]
    stored = read(keys[0])
    assert len(stored) < len(photo)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "WEBP", "Chromium encodes WebP"
    assert image.size == (1200, 1600), "longest side 1600, orientation applied"
    exif = image.getexif()
    assert GPS_IFD not in exif and not exif.get_ifd(GPS_IFD)
    assert ORIENTATION not in exif


@pytest.mark.parametrize("site_mode", ["s3"], indirect=True)
def test_a_12_mp_photo_goes_up_as_webp_of_at_most_200_kb(
    site_mode, page, live_server, shop, settings
):
    """A real photograph at 12 MP (2.3 MB of JPEG, with a sensor's grain),
    as bytes on the wire: the POST to the bucket, as Chromium sent it."""
    product = shop["product"]
    photo = photos.phone_photo(1)
    assert len(photo) > 2_000_000
    to_store = []
    page.on(
        "requestfinished",
        lambda r: to_store.append(r) if r.url.startswith(settings.AWS_S3_ENDPOINT_URL) else None,
    )
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")

    choose_file(page, "IMG_0001.jpg", "image/jpeg", photo)

    page.wait_for_selector(".picker .status:text('Photo enregistrée.')", timeout=60_000)
    (post,) = [r for r in to_store if r.method == "POST"]
    body = int(post.all_headers()["content-length"])
    assert body <= 200_000
    assert UploadTicket.objects.get().content_type == "image/webp"
    product.refresh_from_db()
    with product.image.open("rb") as stored:
        assert Image.open(stored).format == "WEBP"
        assert product.image.size < body, "the photo is all of the POST but its form fields"


def fill_new_product(page):
    """Fills the new product form shown in ``page`` (CUG H-5) and chooses
    its photo, which goes up once the product is saved."""
    page.fill("input[name=name]", "Huile d'arachide")
    page.fill("input[name=cug]", "H-5")
    page.fill("input[name=price]", "6500")
    page.fill("input[name=quantity]", "12")
    choose_file(page, "huile.jpg", "image/jpeg", jpeg((800, 600)))


def test_new_product_with_photo(site_mode, page, live_server, shop):
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    fill_new_product(page)
    page.click(".product-form button[type=submit]")

    product = None
    page.wait_for_url(re.compile(r"/products/\d+/$"))
    product = Product.objects.get(cug="H-5")
    assert page.url == f"{live_server.url}/products/{product.pk}/"
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")


def test_a_photo_chosen_before_the_pages_script_ran_goes_with_the_product(
    site_mode, page, live_server, shop
):
    """On a slow network the form is shown, and its photo buttons work,
    before the picker's script arrives: the photo chosen then is the one
    the product is saved with. Its change event was no one's, and the form
    went as a page, without the photo."""
    log_in(page, live_server, "staff")
    script = re.compile(r"/image-picker\.js")
    held = []
    page.route(script, lambda route: held.append(route))
    with page.expect_request(script):
        page.goto(f"{live_server.url}/products/new/", wait_until="commit")
    page.wait_for_selector(".product-form button[type=submit]", state="attached")
    fill_new_product(page)
    assert held, "the picker's script has not run"
    page.unroute(script)  # sends what it held
    page.wait_for_selector(
        ".picker .status:text('La photo sera envoyée quand vous enregistrerez le produit.')"
    )
    page.click(".product-form button[type=submit]")

    page.wait_for_url(re.compile(r"/products/\d+/$"))
    product = Product.objects.get(cug="H-5")
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")


def test_a_refused_new_product_keeps_its_photo(site_mode, page, live_server, shop):
    """The picker's save of a new product is refused (its CUG is the
    site's Riz's): the form shows why, in French, and the photo picked
    stays, to go up once the form is corrected and saved. The picker sent
    the form again to show the errors, and the photo was lost: taken with
    the camera, it had to be taken again."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    fill_new_product(page)
    page.fill("input[name=cug]", "R-1")
    page.click(".product-form button[type=submit]")

    page.wait_for_selector(
        ".product-form .errorlist:has-text('Ce site a déjà un produit avec ce CUG.')"
    )
    assert page.url == f"{live_server.url}/products/new/"
    assert page.input_value("input[name=name]") == "Huile d'arachide"
    assert page.locator(".picker .preview").is_visible()
    assert "photo est gardée" in page.locator(".picker .error").inner_text()
    assert list(Product.objects.values_list("cug", flat=True)) == ["R-1"]

    page.fill("input[name=cug]", "H-5")
    page.click(".product-form button[type=submit]")

    page.wait_for_url(re.compile(r"/products/\d+/$"))
    product = Product.objects.get(cug="H-5")
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")


def test_a_superusers_new_product_stays_on_the_site_shown(
    site_mode, page, live_server, shop, sites, root
):
    """A superuser fills site One's new product form with a photo, switches
    to site Two in another tab, then saves: the picker's save and the photo
    go to site One, the site the form showed (inventory.sites.form_action),
    and the product's page follows, on site One."""
    one, two = sites
    log_in(page, live_server, "root")
    page.click(f".site-choices button[value='{one.pk}']")  # chosen for the session
    page.click("text=Ajouter un produit")
    # Loaded, its picker set up: a photo chosen before was no one's, and
    # the form went as a page, without it.
    page.wait_for_url(re.compile(r"/products/new/"), wait_until="load")
    fill_new_product(page)
    other_tab = page.context.new_page()
    other_tab.goto(f"{live_server.url}/")
    other_tab.select_option(".site-switcher select", str(two.pk))
    with other_tab.expect_navigation():
        other_tab.click(".site-switcher button[type=submit]")
    other_tab.close()
    page.click(".product-form button[type=submit]")

    page.wait_for_url(re.compile(rf"/products/\d+/\?site={one.pk}$"))
    product = Product.objects.get(cug="H-5")
    assert product.site_configuration == one
    assert product.image.name.startswith(f"sites/{one.pk}/products/")
    assert page.locator("h1").inner_text() == product.name


def test_a_new_product_saved_after_the_session_ended_leads_to_the_login_page(
    site_mode, page, live_server, shop, settings
):
    """The session ends while the form is being filled (its cookie gone,
    the CSRF cookie kept): the picker's save is told so in JSON and sends
    the form, which leads to the login page. It followed the redirect to
    the login page's HTML, failed to read it, and the tap did nothing."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    fill_new_product(page)
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)
    page.click(".product-form button[type=submit]")

    page.wait_for_url(re.compile(r"/accounts/login/\?next=/products/new/$"))
    assert not Product.objects.filter(cug="H-5").exists()


def hold_posts(page, url):
    """The POSTs ``page`` sends to ``url`` (a glob), held before they go:
    the list of their routes, which the test lets go (``continue_``), fails
    (``abort``) or leaves held. Other methods go through."""
    held = []

    def hold(route):
        if route.request.method != "POST":
            route.continue_()
        else:
            held.append(route)

    page.route(url, hold)
    return held


def hold_saves(page):
    """The new product's saves ``page`` sends (its POSTs to /products/new/),
    held (``hold_posts``)."""
    return hold_posts(page, "**/products/new/")


def wait_for(page, condition):
    """Lets ``page`` run (and the routes be handled) until ``condition()``."""
    while not condition():
        page.wait_for_timeout(50)


def test_a_double_tap_on_save_saves_the_new_product_once(site_mode, page, live_server, shop):
    """A second tap on "Save" while a slow network carries the save: the
    save is not sent again. It was, and answered "CUG taken" while the first
    went on: the form showed an error about a product that was saved, and
    saved again with another CUG it made a second product."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    fill_new_product(page)
    held = hold_saves(page)
    save = page.locator(".product-form button[type=submit]")
    save.click()
    wait_for(page, lambda: held)

    save.click()
    page.wait_for_timeout(500)  # time for a second save to be sent
    assert len(held) == 1
    assert page.locator(".picker .status").inner_text() == "Enregistrement du produit…"
    held[0].continue_()

    page.wait_for_url(re.compile(r"/products/\d+/$"))
    product = Product.objects.get(cug="H-5")
    assert product.image
    assert len(held) == 1


def test_a_double_tap_on_save_sends_a_form_without_photo_once(site_mode, page, live_server, shop):
    """A new product without a photo is sent as a form, which a second tap
    sent again while the first was under way: the first made the product,
    the second, shown, said its CUG was taken."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    page.fill("input[name=name]", "Huile d'arachide")
    page.fill("input[name=cug]", "H-5")
    held = hold_saves(page)
    # Clicks where the button is: a locator's click would wait for the page
    # the held save leads to.
    box = page.locator(".product-form button[type=submit]").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_for(page, lambda: held)

    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)  # time for a second save to be sent
    assert len(held) == 1
    held[0].continue_()

    page.wait_for_url(re.compile(r"/products/\d+/$"))
    assert page.locator(".message").inner_text() == "Produit enregistré."
    assert Product.objects.filter(cug="H-5").count() == 1


SAVE_LOST = (
    "Le produit n'a pas pu être enregistré : la connexion a été perdue. "
    "Vérifiez votre réseau et enregistrez à nouveau ; la photo est gardée."
)


@pytest.mark.parametrize("reached_the_server", [False, True])
def test_a_save_lost_on_the_network_says_so_and_may_be_sent_again(
    site_mode, page, live_server, shop, reached_the_server
):
    """The save of a new product with its photo fails on the network (the
    phone lost it): the page says that the product was not saved and that
    the photo is kept, and "Save" again saves it with the photo. Nothing was
    shown. The save may have reached the server and made the product, its
    answer lost: the second save is then the same product's, not a "CUG
    taken" refusal of the user's own product."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    fill_new_product(page)
    held = hold_saves(page)
    page.click(".product-form button[type=submit]")
    wait_for(page, lambda: held)
    if reached_the_server:
        held[0].fetch()  # the product is made, its answer lost on the way back
    held[0].abort("internetdisconnected")

    page.wait_for_selector(f'.picker .error:text("{SAVE_LOST}")')
    assert page.locator(".picker .preview").is_visible()
    assert page.url == f"{live_server.url}/products/new/"
    page.unroute("**/products/new/")
    page.click(".product-form button[type=submit]")

    page.wait_for_url(re.compile(r"/products/\d+/$"))
    product = Product.objects.get(cug="H-5")
    assert product.image


def test_a_new_products_save_left_unanswered_gives_up(site_mode, page, live_server, shop):
    """The save of a new product with its photo meets a stalled link (no
    error, no answer): after a bounded wait the page says the product was
    not saved and that the photo is kept, and "Save" again saves it. "Save"
    stayed locked until the browser gave up, minutes later."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/new/")
    page.locator(".product-form").evaluate("form => (form.dataset.saveTimeout = 500)")
    fill_new_product(page)
    held = hold_saves(page)
    page.click(".product-form button[type=submit]")

    page.wait_for_selector(f'.picker .error:text("{SAVE_LOST}")')
    assert len(held) == 1, "held, never answered"
    assert not Product.objects.filter(cug="H-5").exists()
    page.unroute("**/products/new/")
    page.click(".product-form button[type=submit]")

    page.wait_for_url(re.compile(r"/products/\d+/$"))
    assert Product.objects.get(cug="H-5").image


def hold_store_posts(page, site_mode, settings):
    """The photos ``page`` posts to the store, held before they reach it:
    the list of their routes, which the test lets go or leaves held."""
    storage_url = (
        "**/uploads/emulator/**" if site_mode == "local" else f"{settings.AWS_S3_ENDPOINT_URL}/**"
    )
    return hold_posts(page, storage_url)


def click_save(page):
    """Taps "Save" where it is: a locator's click would wait for a page
    the tap may lead to, which waits for the photo."""
    save = page.locator(".product-form button[type=submit]")
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def save_while_the_photo_goes_up(page, live_server, product, site_mode, settings):
    """Staff choose a photo for ``product``, held on its way to the store,
    change its quantity to 7 and tap "Save"; the held store POSTs."""
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    held = hold_store_posts(page, site_mode, settings)
    choose_file(page, "riz.jpg", "image/jpeg", jpeg((640, 480)))
    wait_for(page, lambda: held)
    page.fill("input[name=quantity]", "7")
    click_save(page)
    return held


def test_save_waits_for_the_photo_going_up(site_mode, page, live_server, shop, settings):
    """A product's photo is going up when "Save" is tapped: the form waits
    for it, says so, then goes, with the photo saved. The form went at
    once: the page reloaded, stopping the upload, the photo's bytes spent
    for nothing and the photo not saved."""
    product = shop["product"]
    held = save_while_the_photo_goes_up(page, live_server, product, site_mode, settings)

    page.wait_for_selector(
        ".picker .save-waits:text('Le produit sera enregistré dès que la photo sera envoyée.')"
    )
    page.wait_for_timeout(500)  # time for the form to be sent
    assert page.url == f"{live_server.url}/products/{product.pk}/"
    held[0].continue_()

    page.wait_for_selector(".message:text('Produit enregistré.')")
    product.refresh_from_db()
    assert product.quantity == 7
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    assert len(held) == 1


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_photo_cancelled_while_the_save_waits_leaves_the_form_to_save_again(
    site_mode, page, live_server, shop, settings
):
    """The photo the save waits for is cancelled: the form is not sent,
    the page says so, and "Save" again saves the product without it."""
    product = shop["product"]
    save_while_the_photo_goes_up(page, live_server, product, site_mode, settings)
    page.wait_for_selector(".picker .save-waits:has-text('dès que la photo')")

    page.locator(".picker .cancel").click()

    stopped = (
        "Le produit n'a pas été enregistré. Réessayez la photo, ou enregistrez à nouveau sans elle."
    )
    page.wait_for_selector(f'.picker .save-waits:text("{stopped}")')
    product.refresh_from_db()
    assert product.quantity != 7
    click_save(page)
    page.wait_for_selector(".message:text('Produit enregistré.')")
    product.refresh_from_db()
    assert product.quantity == 7
    assert not product.image


def test_cancel_stops_the_upload(site_mode, page, live_server, shop, request, settings):
    product = shop["product"]
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    # Hold the storage POST so that there is time to cancel it.
    storage_url = (
        "**/uploads/emulator/**" if site_mode == "local" else f"{settings.AWS_S3_ENDPOINT_URL}/**"
    )
    page.route(storage_url, lambda route: None)

    choose_file(page, "riz.jpg", "image/jpeg", jpeg((640, 480)))
    page.locator(".picker .cancel").click()

    page.wait_for_selector(".picker .error:text('Envoi annulé.')")
    product.refresh_from_db()
    assert not product.image


def test_drag_and_drop_a_photo(site_mode, page, live_server, shop):
    product = shop["product"]
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/products/{product.pk}/")
    photo = jpeg((500, 400))
    transfer = page.evaluate_handle(
        """bytes => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "drop.jpg", {type: "image/jpeg"}));
            return transfer;
        }""",
        list(photo),
    )

    page.dispatch_event(".picker .dropzone", "drop", {"dataTransfer": transfer})

    page.wait_for_selector(".picker .status:text('Photo enregistrée.')")
    product.refresh_from_db()
    with product.image.open() as handle:
        assert handle.read() == photo
