"""Real Chromium (Debian's, never a downloaded one) driven by Playwright,
against a live server, in both storage modes."""

import os
import shutil

import pytest
from django.contrib.staticfiles import finders
from django.core.files import File

from inventory.models import Product
from uploads.storage import StaticStorage

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-features=LocalNetworkAccessChecks",
]


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; the Django
    # calls the tests make around it are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    # Shown with a failing test's output.
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    yield page
    context.close()


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
        seaweedfs.ensure_bucket(bucket, cors_origins=[live_server.url])
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


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
