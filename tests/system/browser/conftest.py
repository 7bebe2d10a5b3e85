"""Real Chromium (Debian's, never a downloaded one) driven by Playwright,
against a live server, in both storage modes."""

from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.core.files import File

from inventory.models import Product
from tests.browser import CHROMIUM, CHROMIUM_ARGS, LAN_HOST
from uploads.storage import StaticStorage


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def new_page(browser, **context_options):
    context = browser.new_context(locale="fr-FR", **context_options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    # Shown with a failing test's output.
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    return page


@pytest.fixture
def page(browser):
    page = new_page(browser)
    yield page
    page.context.close()


# A phone's screen and touch, as shop staff hold it.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser):
    page = new_page(browser, **PHONE)
    yield page
    page.context.close()


def lan_url(live_server):
    """The live server's address under LAN_HOST (an insecure context)."""
    return f"http://{LAN_HOST}:{urlsplit(live_server.url).port}"


# The static files the pages load.
PAGE_ASSETS = ["inventory/inventory.css", "inventory/image-picker.js", "snippets/direct-upload.js"]


@pytest.fixture(params=["s3", "local"])
def site_mode(request, settings, live_server, local_media):
    """The live server in one storage mode, as `make run` runs it: in S3
    mode static files come from the bucket through presigned URLs (the
    assets the pages need are put there); in filesystem mode the server
    serves static files and media (DEBUG)."""
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        seaweedfs = request.getfixturevalue("seaweedfs")
        seaweedfs.ensure_bucket(bucket, cors_origins=[live_server.url, lan_url(live_server)])
        storage = StaticStorage()
        for path in PAGE_ASSETS:
            with open(finders.find(path), "rb") as handle:
                storage.save(path, File(handle))
    else:
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    settings.DEBUG = True
    return request.param


@pytest.fixture
def shop(transactional_db, sites, make_user):
    site = sites[0]
    return {
        "site": site,
        "staff": make_user("staff", site),
        "boss": make_user("boss", site, is_site_admin=True),
        "product": Product.objects.create(site_configuration=site, name="Riz", cug="R-1"),
    }


def log_in(page, live_server, username, base_url=None):
    base_url = base_url or live_server.url
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")
