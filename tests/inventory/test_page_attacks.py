"""Attacks on the staff's pages (inventory.views): what a visitor, a shop's
staff or a superuser may try through them, and what they get."""

import html
import re
from urllib.parse import urlencode

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
    client.post("/sites/", {"site": one.pk})
    page = client.get("/site/")
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
    client.post("/sites/", {"site": one.pk})
    page = client.get("/products/new/")
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


def test_a_signed_out_placeholder_is_told_in_json(client, sites):
    """A placeholder waiting for a photo's renditions once the session has
    ended: a JSON 401 that stops it (renditions.js), not the login page,
    which it fetched every 20 seconds for ten minutes, on costly data."""
    product = Product.objects.create(site_configuration=sites[0], name="Mil", cug="M1")
    path = f"/images/product/{product.pk}/"

    response = client.get(path, HTTP_ACCEPT="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert client.get(path)["Location"] == f"/accounts/login/?next={path}"


def test_a_word_said_again_is_one_condition(client, sites, make_user):
    """Each word of a search is a condition on the name and the CUG of
    every product of the site. One word a hundred times, in any case of
    its ASCII letters ("e E e ..."), within the limits, made a hundred
    times the same condition: on PostgreSQL, with 5,000 products, 355 ms
    a page for "R- R- ...", against 13 ms for one word. Said again, a word
    finds nothing more, and now costs nothing more."""
    Product.objects.create(site_configuration=sites[0], name="Riz parfumé", cug="R-25")
    Product.objects.create(site_configuration=sites[0], name="Sel", cug="S-1")
    client.force_login(make_user("alice", sites[0]))
    again = " ".join(["riz", "RIZ", "Riz", "'riz'", '"rIz"'] * 20)

    response = client.get("/", {"q": again})

    assert [product.name for product in response.context["page"]] == ["Riz parfumé"]
    assert str(Product.objects.search(again).query).count("LIKE") == 2
    assert str(Product.objects.search("riz, RIZ parfumé").query).count("LIKE") == 4


# Attacks that fail, pinned.


@pytest.mark.parametrize(
    ("query", "found"),
    [("50%", ["50%_off"]), ("_", ["50%_off"]), ("50_", []), ("%off", []), ("\\", [])],
)
def test_search_wildcards_are_literal_text(client, sites, make_user, query, found):
    """``%`` and ``_`` are searched as themselves, not as LIKE's wildcards
    ("50_" does not find "500off")."""
    for cug in ("50%_off", "500off"):
        Product.objects.create(site_configuration=sites[0], name="Mil", cug=cug)
    client.force_login(make_user("alice", sites[0]))

    page = client.get("/", {"q": query}).context["page"]

    assert [product.cug for product in page] == found


def test_a_refused_saves_fields_are_text_and_the_users_own(client, sites, make_user):
    """The picker puts the ``fields`` of a refused save in the page as HTML
    (innerHTML): what was typed, and the errors, come back escaped. A
    product of another site, or a save the user may not make, gets no
    fields at all."""
    attack = '"><img src=x onerror=alert(1)>'
    one, two = sites
    Product.objects.create(site_configuration=one, name="Mil", cug=attack)
    foreign = Product.objects.create(site_configuration=two, name="Secret", cug="S-2")
    client.force_login(make_user("alice", one))
    typed = {"name": attack, "cug": attack, "price": attack, "quantity": attack}

    refused = client.post("/products/new/", typed, HTTP_ACCEPT="application/json")

    assert refused.status_code == 400
    fields = refused.json()["fields"]
    assert attack not in fields and "<img" not in fields
    assert fields.count(html.escape(attack)) == 4
    assert set(refused.json()["errors"]) == {"__all__", "price", "quantity"}
    for path in (f"/products/{foreign.pk}/", f"/products/{foreign.pk}/?site={two.pk}"):
        response = client.post(path, typed, HTTP_ACCEPT="application/json")
        assert response.status_code == 404
        assert b"Secret" not in response.content and b"fields" not in response.content
    client.force_login(make_user("viewer", one, permissions=["inventory.view_product"]))
    read_only = client.post("/products/new/", typed, HTTP_ACCEPT="application/json")
    assert read_only.status_code == 403 and b"fields" not in read_only.content


def test_a_search_names_no_other_site_nor_page_in_the_links(client, sites, superuser):
    """A search carrying ``&site=``, ``&page=`` or ``#`` stays the search in
    the links a page builds from it (its pages'): a superuser on site Two
    goes on with site Two, the search as typed."""
    one, two = sites
    query = f"riz&site={one.pk}&page=9#top"
    for number in range(25):
        Product.objects.create(site_configuration=two, name=f"{query} {number}", cug=f"R{number}")

    page = client.get("/", {"site": two.pk, "q": query}).content.decode()

    following = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    assert following == "/?" + urlencode({"site": two.pk, "q": query, "page": 2})
    assert client.get(following).context["site"] == two


@pytest.mark.parametrize(
    "number", ["-1", "0", "1e9", "1.5", "abc", "\x00", "9" * 30, "9" * 5000, ["1", "2"]]
)
def test_any_page_number_shows_a_page(client, sites, make_user, number):
    client.force_login(make_user("alice", sites[0]))
    Product.objects.create(site_configuration=sites[0], name="Mil", cug="M1")
    response = client.get("/", {"page": number})
    assert response.status_code == 200
    assert [product.cug for product in response.context["page"]] == ["M1"]


@pytest.mark.parametrize("site", ["9" * 30, "9223372036854775808", "-1", "1\x00", "0x1", "1.0"])
def test_a_superusers_odd_site_is_not_found(client, sites, superuser, site):
    assert client.get("/", {"site": site}).status_code == 404


def test_names_and_echoed_text_are_escaped(client, sites, make_user, superuser):
    """A product's name, a site's name, a search and an image's ``alt``
    come back as text, never markup."""
    attack = "<script>alert(1)</script>"
    one, two = sites
    two.site_name = attack
    two.save()
    product = Product.objects.create(site_configuration=one, name=attack, cug=attack)
    # A photo whose renditions are being made: the page waits, its alt in a URL.
    Product.objects.filter(pk=product.pk).update(image=f"media/sites/{one.pk}/products/a.jpg")
    client.force_login(make_user("alice", one))
    pages = [
        client.get("/", {"q": "<script"}),
        client.get(f"/products/{product.pk}/"),
        client.get(f"/images/product/{product.pk}/", {"alt": f'"{attack}'}),
        client.get("/accounts/login/", {"next": f'"{attack}'}),
    ]
    client.force_login(superuser)
    pages.append(client.get("/", {"site": one.pk}))  # the switcher names site Two

    for response in pages:
        assert response.status_code == 200
        assert attack not in response.content.decode()
    assert "&lt;script&gt;" in pages[0].content.decode()
    assert "alt=%22%3Cscript%3E" in pages[2].json()["html"]


def test_a_form_sets_no_site_and_no_image(client, sites, make_user):
    """Fields the form does not have are ignored: the product stays on the
    user's site, and no image is attached but by the picker's confirm."""
    one, two = sites
    client.force_login(make_user("alice", one))
    data = {"name": "Mil", "cug": "M1", "price": "1", "quantity": "1"}
    extra = {"site_configuration": two.pk, "image": f"media/sites/{two.pk}/products/x.jpg"}

    assert client.post("/products/new/", {**data, **extra}).status_code == 302

    product = Product.objects.get(cug="M1")
    assert (product.site_configuration, product.image.name) == (one, "")


def test_the_settings_form_keeps_the_logo(client, sites, make_user):
    """A logo named in the settings' form is ignored: the old one stays
    (only the picker's confirm replaces it)."""
    one, two = sites
    one.logo.name = f"sites/{one.pk}/config/old.png"
    one.save()
    client.force_login(make_user("boss", one, is_site_admin=True))
    data = {"site_name": "Site Un", "currency": "XOF", "logo": f"sites/{two.pk}/config/x.png"}

    assert client.post("/site/", data).status_code == 302

    one.refresh_from_db()
    assert (one.site_name, one.logo.name) == ("Site Un", f"sites/{one.pk}/config/old.png")


def test_read_only_staff_cannot_save(client, sites, make_user):
    product = Product.objects.create(site_configuration=sites[0], name="Mil", cug="M1")
    client.force_login(make_user("viewer", sites[0], permissions=["inventory.view_product"]))
    data = {"name": "Riz", "cug": "M1", "price": "1", "quantity": "1"}

    assert client.get(f"/products/{product.pk}/").status_code == 200
    assert client.post(f"/products/{product.pk}/", data).status_code == 403
    assert client.post("/products/new/", data).status_code == 403
    product.refresh_from_db()
    assert product.name == "Mil"


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "/products/\r\nSet-Cookie: a=b",
    ],
)
def test_no_page_redirects_off_site(client, sites, make_user, superuser, next_url):
    """``next`` on the login, logout, language and site-choice forms, and a
    Referer for the language switcher, never lead away from the site nor
    put a header in the answer."""
    answers = [
        client.post("/sites/", {"site": sites[0].pk, "next": next_url}),
        client.post("/i18n/setlang/", {"language": "en", "next": next_url}, HTTP_REFERER=next_url),
        client.post("/accounts/logout/", {"next": next_url}),
        client.post("/accounts/login/", {"username": "root", "password": "pw", "next": next_url}),
    ]
    for response in answers:
        assert response.status_code == 302
        assert response["Location"].startswith("/")
        assert not response["Location"].startswith(("//", "/\\"))
        assert "Set-Cookie: a" not in str(response.serialize_headers())


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/products/new/", {"name": "Mil", "cug": "M1", "price": "1", "quantity": "1"}),
        ("/site/", {"site_name": "Pris", "currency": "XOF"}),
        ("/sites/", {"site": "1"}),
        ("/i18n/setlang/", {"language": "en"}),
        ("/accounts/logout/", {}),
        ("/accounts/password_change/", {"old_password": "pw"}),
    ],
)
def test_every_post_asks_for_the_csrf_token(sites, make_user, path, data):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("boss", sites[0], is_site_admin=True, is_superuser=True))
    assert client.post(path, data).status_code == 403
    sites[0].refresh_from_db()
    assert sites[0].site_name == "Site One"
    assert not Product.objects.exists()


def test_pages_may_not_be_framed_and_logout_takes_no_get(client, sites, make_user):
    client.force_login(make_user("alice", sites[0]))
    for path in ("/", "/products/new/", "/accounts/login/"):
        assert client.get(path)["X-Frame-Options"] == "DENY"
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200  # still signed in


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_page_answers_another_method_with_405_naming_those_it_takes(
    method, client, sites, make_user
):
    """Not the form rendered again, as if read: a client (or a script)
    that sent PUT or DELETE learns it took nothing."""
    client.force_login(make_user("alice", sites[0], is_site_admin=True))
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    taking = {
        "/": "GET, HEAD",
        f"/images/product/{product.pk}/": "GET, HEAD",
        "/products/new/": "GET, HEAD, POST",
        f"/products/{product.pk}/": "GET, HEAD, POST",
        "/site/": "GET, HEAD, POST",
    }
    for path, allowed in taking.items():
        response = getattr(client, method)(path, "name=Autre", content_type="text/plain")

        assert (response.status_code, response["Allow"]) == (405, allowed), path
    product.refresh_from_db()
    assert product.name == "Riz"
