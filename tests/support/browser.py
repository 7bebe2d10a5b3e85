"""How the tests start Chromium: Debian's, never a downloaded one, with the
flags this machine needs (no sandbox as root, no calls home); and what the
browser tests do on every page: open one, log in, reach the live server
from a LAN address."""

import shutil
from urllib.parse import urlsplit

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
    "inventory/renditions.js",
    "snippets/direct-upload.js",
]


def log_in(page, live_server, username, base_url=None):
    base_url = base_url or live_server.url
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")
