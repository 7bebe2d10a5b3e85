"""How the tests start Chromium: Debian's, never a downloaded one, with the
flags this machine needs (no sandbox as root, no calls home); and what the
browser tests do on every page: open one, log in, reach the live server
from a LAN address."""

import json
import shutil
from urllib.parse import urlsplit

from django.contrib.staticfiles import finders
from django.core.files import File
from django.core.signals import request_started

from uploads.static import S3StaticStorage

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A host name for a live server that is not a secure context, as a LAN
# address over plain http is for a phone: no WebCrypto there.
LAN_HOST = "shop.lan.test"
CHROMIUM_ARGS = [
    f"--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-features=LocalNetworkAccessChecks",
]


def new_page(browser, **context_options):
    context = browser.new_context(locale="fr-FR", **context_options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    # Shown with a failing test's output.
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    return page


# A phone's screen and touch, as shop staff hold it.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def lan_url(live_server):
    """The live server's address under LAN_HOST (an insecure context)."""
    return f"http://{LAN_HOST}:{urlsplit(live_server.url).port}"


# The static files the pages load.
PAGE_ASSETS = [
    "inventory/inventory.css",
    "inventory/image-picker.js",
    "snippets/direct-upload.js",
    "inventory/admin-upload.js",
    "inventory/admin-upload.css",
    "inventory/renditions.js",
]


def serve_from_bucket(seaweedfs, bucket, live_server):
    """The live server as `make run` runs it in S3 mode: static files come
    from the bucket through presigned URLs (the assets the pages need are
    put there), and the bucket takes the browser's uploads (CORS)."""
    seaweedfs.ensure_bucket(bucket, cors_origins=[live_server.url, lan_url(live_server)])
    storage = S3StaticStorage()
    for path in PAGE_ASSETS:
        with open(finders.find(path), "rb") as handle:
            storage.save(path, File(handle))


def log_in(page, live_server, username, base_url=None):
    base_url = base_url or live_server.url
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def log_server_requests(request):
    """What Django receives during the test (``request``: the test's pytest
    request): a list of (method, path, content type, length) that grows as
    requests start, to show that no image bytes reach the server."""
    log = []

    def record(sender, environ, **kwargs):
        log.append(
            (
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
                environ.get("CONTENT_TYPE", ""),
                int(environ.get("CONTENT_LENGTH") or 0),
            )
        )

    request_started.connect(record)
    request.addfinalizer(lambda: request_started.disconnect(record))
    return log


# What S3 (and the emulator) answer to a form posted after its policy's
# expiration: the store's own words, in English.
POLICY_EXPIRED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    "<Message>Invalid according to Policy: Policy expired.</Message></Error>"
)


def store_refuses_as_expired(page):
    """Every form ``page`` posts to the store (the emulator) is refused as
    one posted after its policy expired."""
    page.route(
        "**/uploads/emulator/**",
        lambda route: route.fulfill(
            status=403, content_type="application/xml", body=POLICY_EXPIRED
        ),
    )


# A network as fast as the machine's (Chromium's network emulation).
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def lose_the_network_at_the_store(page, conditions=UNTHROTTLED):
    """The first form ``page`` posts to the store (the emulator) meets a
    browser that lost its network (``navigator.onLine`` false), lost until
    ``back()``, the function returned, restores ``conditions``."""
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")

    def drop_the_network(route):
        network.send("Network.emulateNetworkConditions", {**conditions, "offline": True})
        route.abort("internetdisconnected")

    page.route("**/uploads/emulator/**", drop_the_network, times=1)
    return lambda: network.send("Network.emulateNetworkConditions", conditions)


CONFIRMS = "**/confirm/"


def confirms_refused(page, detail="Too many requests."):
    """Every confirm ``page`` sends is refused by the server's limit (429,
    the API's JSON, ``detail`` shown as it is): a failure that may pass,
    for which the picker offers "Try again" at once, where a lost network
    is first retried for seconds. ``page.unroute(CONFIRMS)`` ends it."""
    body = json.dumps({"code": "throttled", "detail": detail})
    page.route(
        CONFIRMS,
        lambda route: route.fulfill(status=429, content_type="application/json", body=body),
    )
