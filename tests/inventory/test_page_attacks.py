"""Attacks on the staff's pages (inventory.views): what a visitor, a shop's
staff or a superuser may try through them, and what they get."""

import html
import re

import pytest

from inventory.models import Product


def form_action(response, marker):
    """The ``action`` of the page's form that holds ``marker``, as a
    browser resolves it against the page's URL."""
    page = response.content.decode()
    form = re.search(r'<form method="post"[^>]*>(?:(?!</form>).)*' + re.escape(marker), page, re.S)
    action = re.search(r'action="([^"]+)"', form.group(0).split(">", 1)[0])
    if action is None:  # the page itself
        return response.request["PATH_INFO"]
    return html.unescape(action.group(1))


@pytest.fixture
def superuser(client, root):
    client.force_login(root)
    return root


def test_site_settings_sent_after_a_switch_in_another_tab_save_the_site_shown(
    client, sites, superuser
):
    """A superuser opens site One's settings, switches to site Two in
    another tab, then saves the first tab: One's form changes One, not Two."""
    one, two = sites
    page = client.get("/site/", {"site": one.pk})
    client.post("/sites/", {"site": two.pk})

    action = form_action(page, 'name="site_name"')
    response = client.post(action, {"site_name": "Site Un", "currency": "XOF"})

    assert response.status_code == 302
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.site_name, two.site_name) == ("Site Un", "Site Two")


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_product_added_after_a_switch_in_another_tab_goes_to_the_site_shown(
    client, sites, superuser, accept
):
    """The same for a new product, sent by the form or by the picker's
    fetch (which posts to the form's action)."""
    one, two = sites
    page = client.get("/products/new/", {"site": one.pk})
    client.get("/", {"site": two.pk})  # a link naming another site

    action = form_action(page, 'name="cug"')
    data = {"name": "Mil", "cug": "M1", "price": "100", "quantity": "1"}
    response = client.post(action, data, HTTP_ACCEPT=accept)

    assert response.status_code in (201, 302)
    assert Product.objects.get(cug="M1").site_configuration == one


def test_staff_forms_name_no_site(client, sites, make_user):
    """Staff act on their own site whatever is named: their forms post to
    the page itself."""
    client.force_login(make_user("boss", sites[0], is_site_admin=True))
    assert form_action(client.get("/site/"), 'name="site_name"') == "/site/"
    assert form_action(client.get("/products/new/"), 'name="cug"') == "/products/new/"


@pytest.mark.parametrize("path", ["/products/new/", "/site/"])
def test_a_signed_out_save_asking_for_json_is_told_in_json(client, sites, path):
    """The picker's save once the session has ended: a JSON 401 it can tell
    from a saved product (it then sends the form itself, and the user is
    asked to log in), not the login page, which ``fetch`` follows to an
    HTML 200 whose JSON the picker fails to read, the tap lost in silence."""
    data = {"name": "Mil", "cug": "M1", "price": "100", "quantity": "1"}

    response = client.post(path, data, HTTP_ACCEPT="application/json")

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Votre session a pris fin. Reconnectez-vous.",
    }
    assert not Product.objects.exists()
    page = client.post(path, data)
    assert (page.status_code, page["Location"]) == (302, f"/accounts/login/?next={path}")
