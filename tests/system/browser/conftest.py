"""Real Chromium (Debian's, never a downloaded one) driven by Playwright,
against a live server, in both storage modes."""

import pytest

from inventory.models import Product
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, new_page, serve_from_bucket


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser):
    page = new_page(browser)
    yield page
    page.context.close()


@pytest.fixture
def phone(browser):
    page = new_page(browser, **PHONE)
    yield page
    page.context.close()


@pytest.fixture(params=["s3", "local"])
def site_mode(request, settings, live_server, local_media):
    """The live server in one storage mode, as `make run` runs it: in S3
    mode static files come from the bucket through presigned URLs (the
    assets the pages need are put there); in filesystem mode the server
    serves static files and media (DEBUG)."""
    if request.param == "s3":
        serve_from_bucket(
            request.getfixturevalue("seaweedfs"), request.getfixturevalue("s3_bucket"), live_server
        )
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
