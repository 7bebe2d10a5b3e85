"""A site's staff in the admin, in real Chromium: another site's product and
upload tickets are out of reach, whatever URL they type."""

import pytest

from inventory.models import Product
from tests.support.browser import log_in
from tests.support.images import jpeg
from uploads.services import issue_ticket


@pytest.fixture
def two_shops(transactional_db, sites, make_user):
    one, two = sites
    return {
        "boss": make_user("boss", one, permissions=[], is_site_admin=True, is_staff=True),
        "stranger": make_user("stranger", two),
        "own": Product.objects.create(site_configuration=one, name="Riz", cug="R-1"),
        "foreign": Product.objects.create(site_configuration=two, name="Cacao", cug="C-1"),
    }


def ticket_for(user, product):
    return issue_ticket(
        user, kind="product", object_id=product.pk, content_type="image/jpeg", size=len(jpeg())
    ).ticket


def test_site_staff_cannot_open_another_sites_product_or_tickets(page, live_server, two_shops):
    own_ticket = ticket_for(two_shops["boss"], two_shops["own"])
    foreign_ticket = ticket_for(two_shops["stranger"], two_shops["foreign"])
    admin = f"{live_server.url}/admin"
    log_in(page, live_server, "boss")

    page.goto(f"{admin}/inventory/product/")
    assert page.locator("#result_list").inner_text().count("Riz") == 1
    assert "Cacao" not in page.content()
    page.goto(f"{admin}/inventory/product/{two_shops['own'].pk}/change/")
    assert page.input_value("input[name=name]") == "Riz"

    page.goto(f"{admin}/inventory/product/{two_shops['foreign'].pk}/change/")
    page.wait_for_url(f"{admin}/")
    assert "Cacao" not in page.content()
    assert page.locator(".messagelist").count() == 1

    page.goto(f"{admin}/uploads/uploadticket/")
    listing = page.locator("#result_list").inner_text()
    assert str(own_ticket.pk) in listing
    assert str(foreign_ticket.pk) not in page.content()
    assert "Site Two" not in page.content() and "stranger" not in page.content()

    page.goto(f"{admin}/uploads/uploadticket/{foreign_ticket.pk}/change/")
    page.wait_for_url(f"{admin}/")
    # The admin's answer for a missing object: a message naming the id typed.
    assert page.locator(".messagelist").count() == 1
    assert "stranger" not in page.content() and "Cacao" not in page.content()
