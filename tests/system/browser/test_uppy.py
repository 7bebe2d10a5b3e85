"""Uppy's Dashboard uploading through frontend_snippets/uppy-direct-upload.js,
in real Chromium, against the live server in both storage modes: the
third-party uploader an app would put on its own page."""

import json
import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from inventory.models import Product
from tests.support import photos
from tests.support.browser import (
    CONFIRMS,
    UNTHROTTLED,
    confirms_refused,
    log_in,
    log_server_requests,
    lose_the_network_at_the_store,
)
from tests.support.images import jpeg
from tests.support.uppy import (
    add_photos,
    console_errors,
    file_button,
    open_uppy_page,
    shown,
    start_upload,
    use_errors,
    wait_for_result,
)
from uploads.errors import InvalidImage
from uploads.models import UploadTicket


def recorded_posts(page, keep):
    """What ``keep(url)`` gives of each POST ``page`` sends (those it gives
    None for left out), in order, as a list that grows."""
    posts = []

    def record(request):
        kept = keep(request.url) if request.method == "POST" else None
        if kept is not None:
            posts.append(kept)

    page.on("request", record)
    return posts


def posts_to_the_store(page, live_server):
    """The forms ``page`` posts to the store (the bucket, or the emulator)."""
    api = f"{live_server.url}/api/"
    return recorded_posts(page, lambda url: None if url.startswith(api) else url)


def slow_link(page):
    """``page``'s network made SLOW_LINK; the CDP session, to change it."""
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", SLOW_LINK)
    return network


def test_a_photo_chosen_in_uppy_is_attached_to_the_product(
    site_mode, phone, live_server, shop, request
):
    product = shop["product"]
    log_in(phone, live_server, "staff")
    server_log = log_server_requests(request)
    to_store = posts_to_the_store(phone, live_server)
    open_uppy_page(phone, live_server.url, kind="product", objectId=product.pk)

    add_photos(phone, ("riz.jpg", "image/jpeg", photos.phone_photo(0)))
    start_upload(phone)
    result = wait_for_result(phone)

    assert result["failed"] == []
    [done] = result["successful"]
    ticket = UploadTicket.objects.get()
    product.refresh_from_db()
    folder = f"sites/{shop['site'].pk}/products"
    assert re.fullmatch(rf"{folder}/[0-9a-f]{{32}}\.webp", product.image.name)
    # The file's response is confirm's answer, its uploadURL the image's.
    assert done["body"]["status"] == "confirmed"
    assert done["body"]["id"] == str(ticket.pk)
    assert done["body"]["key"] == f"media/{product.image.name}"
    assert done["uploadURL"] == done["body"]["url"]
    # Shrunk on the phone (a 4:3 photo to 1600 px), then one POST to the store.
    assert (done["body"]["width"], done["body"]["height"]) == (1600, 1200)
    assert len(to_store) == 1
    # In the user's language: Uppy's French, and the Dashboard says it is done.
    phone.wait_for_selector(".uppy-StatusBar-statusPrimary:text('Terminé')")
    if site_mode == "s3":
        # No image bytes reached Django: two small JSON calls.
        assert [path for method, path, _, _ in server_log if method == "POST"] == [
            "/api/uploads/tickets/",
            f"/api/uploads/tickets/{ticket.pk}/confirm/",
        ]
        for _method, path, content_type, length in server_log:
            assert not content_type.startswith("multipart/"), path
            assert length < 4096, path


def test_uppy_shows_the_apis_refusal_in_the_users_language(site_mode, page, live_server, shop):
    """A file that is no image (a JPEG's name and type on other bytes) goes
    up as it is, and confirm refuses it: Uppy shows the API's words, in
    French, and the product keeps no image."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)

    add_photos(page, ("riz.jpg", "image/jpeg", b"not a photo at all" * 100))
    start_upload(page)
    result = wait_for_result(page)

    with translation.override("fr"):
        detail = str(InvalidImage.default_detail)
    assert result["successful"] == []
    [failed] = result["failed"]
    assert failed["error"] == detail
    assert UploadTicket.objects.get().status == UploadTicket.Status.REJECTED
    product.refresh_from_db()
    assert not product.image
    # Shown on the file: its error button, named after it for screen readers.
    page.get_by_role("button", name=detail).wait_for()


def test_uppys_retry_after_a_refused_confirm_sends_only_the_confirm(
    site_mode, page, live_server, shop
):
    """The server's limit refuses the confirm (429): the file fails with
    the server's words, and Uppy's Retry confirms the photo the store
    already holds, without posting it again."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    to_store = posts_to_the_store(page, live_server)
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)
    confirms_refused(page, detail="Trop de requêtes.")

    add_photos(page, ("riz.jpg", "image/jpeg", jpeg((800, 600))))
    start_upload(page)
    [failed] = wait_for_result(page)["failed"]
    assert failed["error"] == "Trop de requêtes."
    assert len(to_store) == 1
    product.refresh_from_db()
    assert not product.image

    page.unroute(CONFIRMS)
    page.click(".uppy-StatusBar-actionBtn--retry")
    result = wait_for_result(page, count=2)

    assert result["failed"] == []
    assert len(result["successful"]) == 1
    assert len(to_store) == 1, "the body the store held was not sent again"
    ticket = UploadTicket.objects.get()
    assert ticket.status == UploadTicket.Status.CONFIRMED
    product.refresh_from_db()
    assert f"media/{product.image.name}" == ticket.final_key


def test_a_connection_lost_mid_upload_is_told_in_french_and_retried(
    site_mode, page, live_server, shop, settings
):
    """The post to the store fails (the network, with the browser still
    online: no wait for it to come back): the file fails with the plugin's
    French words, not the browser's English, and Uppy's Retry sends it."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk, retries=0)
    store = f"{settings.AWS_S3_ENDPOINT_URL}/**" if site_mode == "s3" else "**/uploads/emulator/**"
    page.route(store, lambda route: route.abort("connectionreset"))

    add_photos(page, ("riz.jpg", "image/jpeg", jpeg((800, 600))))
    start_upload(page)
    [failed] = wait_for_result(page)["failed"]
    assert failed["error"] == "La connexion a été perdue. Vérifiez votre réseau et réessayez."
    product.refresh_from_db()
    assert not product.image

    page.unroute(store)
    page.click(".uppy-StatusBar-actionBtn--retry")
    result = wait_for_result(page, count=2)

    assert [file["name"] for file in result["successful"]] == ["riz.jpg"]
    ticket = UploadTicket.objects.get()
    product.refresh_from_db()
    assert f"media/{product.image.name}" == ticket.final_key


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_phone_out_of_coverage_mid_upload_goes_on_when_the_network_is_back(
    site_mode, phone, live_server, shop
):
    """The phone loses its network as the photo goes to the store (the
    emulator: the network is cut on its route): Uppy says so, in French,
    and the upload waits; once the network is back it goes on, and the
    photo is attached, with no error and no Retry to press."""
    product = shop["product"]
    log_in(phone, live_server, "staff")
    open_uppy_page(phone, live_server.url, kind="product", objectId=product.pk)
    back = lose_the_network_at_the_store(phone)

    add_photos(phone, ("riz.jpg", "image/jpeg", jpeg((800, 600))))
    start_upload(phone)
    phone.get_by_role("alert").filter(has_text="Pas de connexion à Internet").first.wait_for()
    back()
    result = wait_for_result(phone)

    assert result["failed"] == []
    assert [file["name"] for file in result["successful"]] == ["riz.jpg"]
    product.refresh_from_db()
    assert f"media/{product.image.name}" == UploadTicket.objects.get().final_key


SLOW_LINK = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 200_000,
    "uploadThroughput": 20_000,  # bytes a second: a 100 KB photo takes 5 s
}


def test_a_file_removed_from_uppy_mid_upload_is_never_confirmed(site_mode, page, live_server, shop):
    """The user removes a photo while it goes up on a slow link: its post
    to the store is cancelled and nothing is confirmed; the next photo goes
    up as usual."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    confirms = []
    page.on("request", lambda r: confirms.append(r.url) if r.url.endswith("/confirm/") else None)
    cancelled = []
    page.on("requestfailed", lambda r: cancelled.append(r.url) if r.method == "POST" else None)
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)
    network = slow_link(page)

    add_photos(page, ("premier.jpg", "image/jpeg", jpeg((1200, 900), color=(10, 120, 200))))
    start_upload(page)
    file_id = page.evaluate("() => window.uppy.getFiles()[0].id")
    page.wait_for_function(
        "id => (window.uppy.getFile(id).progress.bytesUploaded ?? 0) > 0", arg=file_id
    )
    page.evaluate("id => window.uppy.removeFile(id)", file_id)
    network.send("Network.emulateNetworkConditions", UNTHROTTLED)

    # The next photo is a barrier: once it is done, anything the first
    # upload would have sent has been sent.
    add_photos(page, ("second.jpg", "image/jpeg", jpeg((640, 480), color=(200, 40, 40))))
    start_upload(page)
    result = wait_for_result(page, with_file="second.jpg")

    assert [file["name"] for file in result["successful"]] == ["second.jpg"]
    assert len(cancelled) == 1, "the first photo's post to the store was cancelled"
    second = UploadTicket.objects.get(status=UploadTicket.Status.CONFIRMED)
    assert confirms == [f"{live_server.url}/api/uploads/tickets/{second.pk}/confirm/"]
    assert UploadTicket.objects.count() == 2
    product.refresh_from_db()
    assert f"media/{product.image.name}" == second.final_key


# The ticket requests (not their confirms).
TICKETS = "**/api/uploads/tickets/"
# The plugin's French for a failure that has no words of the API's.
FAILED = "L'envoi a échoué. Réessayez."
RETRY = "Réessayer le téléversement"  # Uppy's French, on a file's own button
CANCEL = "Annuler le téléversement"


def api_posts(page, live_server):
    """The paths of the API calls ``page`` posts."""
    api = f"{live_server.url}/api/"
    return recorded_posts(
        page, lambda url: url.removeprefix(live_server.url) if url.startswith(api) else None
    )


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_photo_refused_its_ticket_has_its_own_retry_button(site_mode, page, live_server, shop):
    """The server's limit refuses the photo's ticket (429), before any of
    it is sent: the file shows the server's words and, as any failed file
    of the Dashboard, its own Retry button, which sends it."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)
    body = json.dumps({"code": "throttled", "detail": "Trop de requêtes."})
    page.route(
        TICKETS,
        lambda route: route.fulfill(status=429, content_type="application/json", body=body),
    )

    add_photos(page, ("riz.jpg", "image/jpeg", jpeg((800, 600))))
    start_upload(page)
    [failed] = wait_for_result(page)["failed"]
    assert failed["error"] == "Trop de requêtes."

    page.unroute(TICKETS)
    retry = file_button(page, "riz.jpg", RETRY)
    assert shown(retry)
    retry.click()
    # (A file's own Retry ends with no "complete" event of Uppy's.)
    page.wait_for_function("() => window.uppy.getFiles()[0].progress.uploadComplete")

    product.refresh_from_db()
    assert f"media/{product.image.name}" == UploadTicket.objects.get().final_key


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_photo_being_confirmed_shows_its_cancel_button(site_mode, page, live_server, shop):
    """While the photo is confirmed (a slow server: the confirm is held on
    its way), the file still shows its progress and its cancel button;
    pressing it drops the file and the confirm, which never reaches the
    server."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)
    held = []
    page.route(CONFIRMS, lambda route: held.append(route))

    add_photos(page, ("riz.jpg", "image/jpeg", jpeg((800, 600))))
    with page.expect_request(CONFIRMS):
        start_upload(page)
    cancel = file_button(page, "riz.jpg", CANCEL)
    assert shown(cancel)
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/confirm/")):
        cancel.click()

    assert page.evaluate("() => window.uppy.getFiles().length") == 0
    assert UploadTicket.objects.get().status == UploadTicket.Status.ISSUED
    product.refresh_from_db()
    assert not product.image


def test_retry_sends_the_photo_to_the_object_its_file_now_names(site_mode, page, live_server, shop):
    """A photo's confirm is refused (429); the page then points the file at
    another product (its meta objectId), and Uppy's Retry attaches the
    photo to that product, not to the one of the failed upload."""
    first = shop["product"]
    other = Product.objects.create(site_configuration=shop["site"], name="Mil", cug="M-1")
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=first.pk)
    confirms_refused(page, detail="Trop de requêtes.")

    add_photos(page, ("riz.jpg", "image/jpeg", jpeg((800, 600))))
    start_upload(page)
    [failed] = wait_for_result(page)["failed"]
    assert failed["error"] == "Trop de requêtes."

    page.evaluate(
        "([id, objectId]) => window.uppy.setFileMeta(id, { objectId })", [failed["id"], other.pk]
    )
    page.unroute(CONFIRMS)
    page.click(".uppy-StatusBar-actionBtn--retry")
    result = wait_for_result(page, count=2)

    [done] = result["successful"]
    assert done["body"]["object_id"] == other.pk
    other.refresh_from_db()
    first.refresh_from_db()
    assert f"media/{other.image.name}" == done["body"]["key"]
    assert not first.image


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_photo_added_while_another_goes_up_waits_for_it(site_mode, page, live_server, shop):
    """With ``limit: 1`` (the default), a photo added and sent while
    another goes up on a slow link (a second upload of Uppy's) waits for
    the first to be confirmed before its own ticket is asked for: a phone
    prepares and sends one photo at a time."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    posts = api_posts(page, live_server)
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)
    slow_link(page)

    add_photos(page, ("premier.jpg", "image/jpeg", jpeg((1200, 900), color=(10, 120, 200))))
    start_upload(page)
    page.wait_for_function("() => (window.uppy.getFiles()[0].progress.bytesUploaded ?? 0) > 0")
    page.click(".uppy-DashboardContent-addMore")
    add_photos(page, ("second.jpg", "image/jpeg", jpeg((640, 480), color=(200, 40, 40))))
    page.click(".uppy-StatusBar-actionBtn--uploadNewlyAdded")
    result = wait_for_result(page, with_file="second.jpg")

    assert [file["name"] for file in result["successful"]] == ["second.jpg"]
    first, second = UploadTicket.objects.order_by("created_at")
    assert posts == [
        "/api/uploads/tickets/",
        f"/api/uploads/tickets/{first.pk}/confirm/",
        "/api/uploads/tickets/",
        f"/api/uploads/tickets/{second.pk}/confirm/",
    ]


def hold_ticket(page, n):
    """Holds the ``n``th request for a ticket the page sends, and lets the
    others go: the requests routed so far, the held one at ``n - 1``, for
    the test to ``continue_()``."""
    routed = []

    def hold(route):
        routed.append(route)
        if len(routed) != n:
            route.continue_()

    page.route(TICKETS, hold)
    return routed


def nth_ticket_request(n):
    """A predicate for ``page.expect_request``: true of the ``n``th request
    for a ticket the page sends from then on."""
    asked = []

    def nth(request):
        if request.method == "POST" and request.url.endswith("/api/uploads/tickets/"):
            asked.append(request)
        return len(asked) == n

    return nth


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_limit_of_0_sends_every_photo_at_once(site_mode, page, live_server, shop):
    """``limit: 0`` is no limit, as in Uppy's own uploaders: the second
    photo asks for its ticket while the first one's is held."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk, limit=0)
    tickets = hold_ticket(page, 1)
    colors = ((10, 120, 200), (200, 40, 40))
    add_photos(
        page,
        *[
            (f"photo-{n}.jpg", "image/jpeg", jpeg((640, 480), color=c))
            for n, c in enumerate(colors)
        ],
    )

    with page.expect_request(nth_ticket_request(2), timeout=60_000):
        start_upload(page)

    tickets[0].continue_()
    assert len(wait_for_result(page)["successful"]) == 2


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_uppys_total_progress_counts_each_photo_for_its_share(site_mode, page, live_server, shop):
    """Three photos of the same size go up one at a time, each shrunk on
    the phone: once the first is done, Uppy's progress bar is at a third,
    though the photo sent was much smaller than the file chosen."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    open_uppy_page(page, live_server.url, kind="product", objectId=product.pk)
    tickets = hold_ticket(page, 2)
    photo = photos.phone_photo(0)
    add_photos(page, *[(f"photo-{n}.jpg", "image/jpeg", photo) for n in range(3)])

    # Its turn come, the second photo is prepared and asks for its ticket.
    with page.expect_request(nth_ticket_request(2), timeout=60_000):
        start_upload(page)

    assert page.evaluate("() => window.uppy.getFiles()[0].progress.uploadComplete")
    assert len(photo) > 4 * UploadTicket.objects.get().size, "the photo sent was shrunk"
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "33")

    tickets[1].continue_()
    assert len(wait_for_result(page)["successful"]) == 3


# Options that cannot work, and what each throws from uppy.use(): a
# TypeError that names the option, the plugin left out.
MISCONFIGURED = {
    "no kind": ({"objectId": 1}, 'the `kind` option is required: "product" or "logo".'),
    "an unknown kind": ({"kind": "produit", "objectId": 1}, 'the `kind` option is "produit"'),
    "no objectId for a product": ({"kind": "product"}, "needs the `objectId` option"),
    "an objectId that is no id": ({"kind": "product", "objectId": "42abc"}, "`objectId` option"),
    "a new logo": ({"kind": "logo", "newObject": True}, '`newObject` does not go with kind "logo"'),
    "a new product with an id": (
        {"kind": "product", "objectId": 3, "newObject": True},
        "the `objectId` option does not go with `newObject: true`",
    ),
    "a negative limit": ({"kind": "logo", "limit": -1}, "the `limit` option is -1"),
    "a limit that is no number": ({"kind": "logo", "limit": "2"}, 'the `limit` option is "2"'),
}
# Options it takes: a logo is the user's site's, a product not created yet
# has no id, an id may come from a page's data attribute as a string, with
# `objectId: null` each file names its own, and a limit of 0 is none.
WELL_CONFIGURED = {
    "the site's logo": {"kind": "logo"},
    "a product": {"kind": "product", "objectId": 42},
    "a product by a string id": {"kind": "product", "objectId": "42"},
    "a new product": {"kind": "product", "newObject": True},
    "each file its product": {"kind": "product", "objectId": None},
    "no limit, as in Uppy's own uploaders": {"kind": "logo", "limit": 0},
}


def test_options_that_cannot_work_throw_from_use_naming_the_option(page, live_server):
    """Rather than every file failing with "L'envoi a échoué" and the
    reason in its error's cause, as Uppy's own plugins do."""
    open_uppy_page(page, live_server.url, kind="logo")

    thrown = use_errors(page, {name: options for name, (options, _) in MISCONFIGURED.items()})

    for name, (_, message) in MISCONFIGURED.items():
        assert thrown[name]["name"] == "TypeError", name
        assert thrown[name]["message"].startswith("DirectUpload: "), thrown[name]
        assert message in thrown[name]["message"], thrown[name]
        assert not thrown[name]["installed"], name
    assert use_errors(page, WELL_CONFIGURED) == dict.fromkeys(WELL_CONFIGURED)


def test_uppys_own_meta_names_the_target_of_every_file(page, live_server):
    """``new Uppy({ meta })``: every file added takes Uppy's meta as its
    own, which overrides the options, as it did before options were
    checked; an id there that is no id is refused, naming it."""
    open_uppy_page(page, live_server.url, kind="logo")

    assert use_errors(page, {"a product": {"kind": "product"}}, {"meta": {"objectId": 42}}) == {
        "a product": None
    }
    thrown = use_errors(page, {"a product": {"kind": "product"}}, {"meta": {"objectId": "42abc"}})
    assert thrown["a product"]["message"] == (
        "DirectUpload: Uppy's meta `objectId` is \"42abc\", not an object's id "
        "(a whole number, 1 or more)."
    )


def test_options_set_later_that_cannot_work_throw_and_change_nothing(page, live_server):
    open_uppy_page(page, live_server.url, kind="product", objectId=7)

    thrown = page.evaluate(
        """() => {
            const plugin = window.uppy.getPlugin("DirectUpload");
            try {
                plugin.setOptions({ kind: "produit" });
            } catch (error) {
                return { message: error.message, kind: plugin.opts.kind };
            }
        }"""
    )

    assert thrown == {
        "message": 'DirectUpload: the `kind` option is "produit", no kind of upload: '
        '"product" or "logo".',
        "kind": "product",
    }


@pytest.mark.parametrize("site_mode", ["local"], indirect=True)
def test_a_file_whose_meta_makes_its_target_wrong_fails_with_the_reason_logged(
    site_mode, page, live_server, shop
):
    """With ``objectId: null`` each file names its product: one that names
    none, and one whose meta names a kind the API does not take, fail
    before anything is sent, the user told the plugin's French words and
    the developer the reason, in the console; the file that names its
    product goes up."""
    product = shop["product"]
    log_in(page, live_server, "staff")
    posts = api_posts(page, live_server)
    logged = console_errors(page)
    open_uppy_page(page, live_server.url, kind="product", objectId=None)

    add_photos(
        page,
        ("sans-produit.jpg", "image/jpeg", jpeg((640, 480))),
        ("mauvais-type.jpg", "image/jpeg", jpeg((640, 480))),
        ("riz.jpg", "image/jpeg", jpeg((640, 480))),
    )
    page.evaluate(
        """([objectId]) => {
            for (const file of window.uppy.getFiles()) {
                if (file.name === "mauvais-type.jpg") {
                    window.uppy.setFileMeta(file.id, { kind: "produit", objectId });
                }
                if (file.name === "riz.jpg") window.uppy.setFileMeta(file.id, { objectId });
            }
        }""",
        [product.pk],
    )
    start_upload(page)
    result = wait_for_result(page)

    failed = {file["name"]: file["error"] for file in result["failed"]}
    assert failed == dict.fromkeys(["sans-produit.jpg", "mauvais-type.jpg"], FAILED)
    assert [file["name"] for file in result["successful"]] == ["riz.jpg"]
    ticket = UploadTicket.objects.get()
    assert posts == ["/api/uploads/tickets/", f"/api/uploads/tickets/{ticket.pk}/confirm/"]
    reasons = [text for text in logged if "DirectUpload: file" in text]
    assert len(reasons) == 2, logged
    assert any(
        'file "sans-produit.jpg": kind "product" needs an `objectId`, and the file names none'
        in text
        for text in reasons
    ), reasons
    assert any(
        'file "mauvais-type.jpg": its meta `kind` is "produit", no kind of upload' in text
        for text in reasons
    ), reasons
