"""Superusers act on every site: they pick the one they work on, and the
pages, the API and the admin's links follow that choice for the session.
Everyone else stays on their own site, whatever they send."""

import re

import pytest
from django.core.management import call_command

from inventory.models import Configuration, Product
from inventory.sites import SESSION_KEY


@pytest.fixture
def shop(sites):
    one, two = sites
    Product.objects.create(site_configuration=one, name="Mil de Thiès", cug="M1")
    Product.objects.create(site_configuration=two, name="Igname de Bouaké", cug="I1")
    return one, two


@pytest.fixture
def root(client, django_user_model):
    """A superuser attached to no site, logged in."""
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


def product_names(response):
    return [product.name for product in response.context["page"]]


def test_a_superuser_with_no_site_is_shown_the_sites_to_choose(client, shop, root):
    for path in ("/", "/site/", "/products/new/"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert "Site One" in page and "Site Two" in page
        assert f'name="next" value="{path}"' in page


def test_a_chosen_site_is_kept_for_the_session(client, shop, root):
    one, two = shop
    choice = client.post("/sites/", {"site": two.pk, "next": "/site/"})
    assert (choice.status_code, choice["Location"]) == (302, "/site/")

    settings_page = client.get("/site/")
    assert settings_page.status_code == 200
    assert settings_page.context["form"].instance == two
    assert product_names(client.get("/")) == ["Igname de Bouaké"]
    assert client.get("/api/products/").json()["results"][0]["name"] == "Igname de Bouaké"
    theirs = Product.objects.get(cug="I1")
    assert client.get(f"/products/{theirs.pk}/").status_code == 200
    mine = Product.objects.get(cug="M1")
    assert client.get(f"/products/{mine.pk}/").status_code == 404

    created = client.post(
        "/products/new/",
        {"name": "Attiéké", "cug": "A1", "price": "500", "quantity": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert created.status_code == 201
    assert Product.objects.get(cug="A1").site_configuration == two


def test_the_header_switches_site(client, shop, root):
    one, two = shop
    client.post("/sites/", {"site": one.pk})
    page = client.get("/").content.decode()
    switcher = re.search(r'<form class="site-switcher".*?</form>', page, re.S).group(0)
    assert 'action="/sites/"' in switcher
    assert f'<option value="{one.pk}" selected>Site One</option>' in switcher
    assert f'<option value="{two.pk}">Site Two</option>' in switcher

    switched = client.post("/sites/", {"site": two.pk})
    assert switched["Location"] == "/"
    assert product_names(client.get("/")) == ["Igname de Bouaké"]


def test_site_in_the_url_selects_that_page(client, shop, root):
    one, two = shop
    assert product_names(client.get(f"/?site={two.pk}")) == ["Igname de Bouaké"]
    assert product_names(client.get(f"/?site={one.pk}")) == ["Mil de Thiès"]
    assert client.get(f"/site/?site={two.pk}").context["form"].instance == two

    assert client.get("/?site=99999").status_code == 404
    assert client.get("/?site=two").status_code == 404


def test_a_link_naming_a_site_does_not_switch_the_session(client, shop, root):
    """A GET changes nothing: a link or a redirect from another web site
    (``/?site=``, which a top-level navigation sends with the session
    cookie) made a superuser's session switch site in silence, and their
    next pages, in other tabs, acted on that shop. Only the chooser and
    the header's switcher, posted with their CSRF token, switch."""
    one, two = shop
    client.post("/sites/", {"site": one.pk})

    for path in ("/", "/site/", "/products/new/", f"/products/{Product.objects.get(cug='I1').pk}/"):
        response = client.get(f"{path}?site={two.pk}")
        assert (response.status_code, response.context["site"]) == (200, two), path

    assert client.session[SESSION_KEY] == one.pk
    assert product_names(client.get("/")) == ["Mil de Thiès"]
    created = client.post(
        "/products/new/",
        {"name": "Attiéké", "cug": "A1", "price": "500", "quantity": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert Product.objects.get(pk=created.json()["id"]).site_configuration == one


def site_links(page):
    """The page's links to the shop's pages, and its search form's fields."""
    links = re.findall(r'href="(/[^"]*)"', page)
    return [
        link.replace("&amp;", "&")
        for link in links
        if not link.startswith(("/admin/", "/static/", "/media/", "/accounts/"))
    ]


def test_the_pages_of_a_named_site_link_to_that_sites_pages(client, shop, root, monkeypatch):
    """``?site=`` does not change the session's site, so a page showing a
    site names it in every link to the shop's pages, in its forms, and
    where a save leads: the admin's links land on a page from which a
    superuser works on that site, whatever the session chose."""
    one, two = shop
    monkeypatch.setattr("inventory.views.PAGE_SIZE", 1)
    Product.objects.create(site_configuration=two, name="Gari", cug="G1")
    client.post("/sites/", {"site": one.pk})
    named = f"site={two.pk}"

    products = client.get(f"/?site={two.pk}&q=i").content.decode()
    links = site_links(products)
    assert {"/", "/site/", "/products/new/"} <= {link.split("?")[0] for link in links}
    assert any("page=2" in link for link in links)
    for link in links:
        assert named in link, link
        assert client.get(link).context["site"] == two, link
    search = re.search(r'<form class="search".*?</form>', products, re.S).group(0)
    assert f'<input type="hidden" name="site" value="{two.pk}">' in search

    add_form = client.get(f"/products/new/?site={two.pk}")
    assert "/?site=" in add_form.content.decode()  # back to the products
    data = {"name": "Attiéké", "cug": "A1", "price": "500", "quantity": "1"}
    added = client.post(f"/products/new/?site={two.pk}", data)
    product = Product.objects.get(cug="A1")
    assert product.site_configuration == two
    assert added["Location"] == f"/products/{product.pk}/?{named}"
    assert client.get(added["Location"]).context["product"] == product
    picker = client.post(
        f"/products/new/?site={two.pk}",
        {**data, "cug": "A2"},
        HTTP_ACCEPT="application/json",
    ).json()
    assert picker["url"] == f"/products/{picker['id']}/?{named}"

    settings_data = {"site_name": "Site Two", "currency": "XOF"}
    saved = client.post(f"/site/?site={two.pk}", settings_data)
    assert saved["Location"] == f"/site/?{named}"
    assert client.session[SESSION_KEY] == one.pk


@pytest.mark.parametrize("kept", ["two", "", [1], {"pk": 1}, 1.5])
def test_a_chosen_site_that_is_no_id_is_as_if_none_were_chosen(client, shop, root, kept):
    """A session kept with something else than a site's id (an older
    release's, or written by hand): the pages, and the API, answer as for
    a session with no site chosen, where they failed with a 500."""
    paths = ("/", "/site/", "/products/new/", "/api/products/")
    none_chosen = {path: client.get(path) for path in paths}
    session = client.session
    session[SESSION_KEY] = kept
    session.save()

    for path in paths:
        response = client.get(path)
        assert response.status_code == none_chosen[path].status_code, path
        assert response.templates == none_chosen[path].templates, path
    # No site for the API: its JSON error, as with nothing chosen.
    assert client.get("/api/products/").json() == none_chosen["/api/products/"].json()

    client.post("/sites/", {"site": shop[1].pk})
    assert product_names(client.get("/")) == ["Igname de Bouaké"], "a choice replaces it"


def test_only_safe_next_pages(client, shop, root):
    response = client.post("/sites/", {"site": shop[0].pk, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_chooser_speaks_french_and_english(client, shop, root):
    assert "Choisir un site" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Choose a site" in client.get("/").content.decode()
    client.post("/sites/", {"site": shop[0].pk})
    assert ">Switch</button>" in client.get("/").content.decode()


def test_the_admins_page_links_land_on_working_pages(client, db):
    call_command("seed_demo")
    client.login(username="admin", password="demo1234")
    abidjan = Configuration.objects.get(site_name="Boutique Abidjan")
    product = Product.objects.get(cug="ABJ-001")

    admin_page = client.get(f"/admin/inventory/product/{product.pk}/change/").content.decode()
    link = re.search(r'<a href="([^"]+)">Ouvrir sa page</a>', admin_page).group(1)
    product_page = client.get(link.replace("&amp;", "&"))
    assert product_page.status_code == 200
    assert product_page.context["product"] == product
    assert f'data-kind="product" data-object-id="{product.pk}"' in product_page.content.decode()
    # The page's links stay on that site: its products are Abidjan's too.
    back = re.search(r'<a href="([^"]+)">Retour aux produits</a>', product_page.content.decode())
    products = client.get(back.group(1).replace("&amp;", "&")).context["page"]
    assert products and all(p.site_configuration == abidjan for p in products)

    dakar = Configuration.objects.get(site_name="Boutique Dakar")
    admin_page = client.get(f"/admin/inventory/configuration/{dakar.pk}/change/").content.decode()
    link = re.search(r'<a href="([^"]+)">Ouvrir sa page</a>', admin_page).group(1)
    settings_page = client.get(link.replace("&amp;", "&"))
    assert settings_page.status_code == 200
    assert settings_page.context["site"] == dakar
    assert f'data-kind="logo" data-object-id="{dakar.pk}"' in settings_page.content.decode()


@pytest.mark.parametrize("role", ["staff", "site admin"])
def test_nobody_else_can_switch(client, shop, make_user, django_user_model, role):
    """What lets a superuser act on site two gives staff and site admins of
    site one nothing of it: not its products, not its name."""
    one, two = shop
    foreign = Product.objects.get(cug="I1")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    user = make_user("someone", one, is_site_admin=role == "site admin", is_staff=True)

    def attempts():
        """Each way to ask for site two, with the page it gives."""
        yield "chooser", client.post("/sites/", {"site": two.pk})
        yield "chosen", client.get("/")
        session = client.session
        session[SESSION_KEY] = two.pk
        session.save()
        yield "session", client.get("/")
        yield "session, site", client.get("/site/")
        yield "session, api", client.get("/api/products/")
        yield "url", client.get(f"/?site={two.pk}")
        yield "url, product", client.get(f"/products/{foreign.pk}/?site={two.pk}")
        yield "url, site", client.get(f"/site/?site={two.pk}")

    client.force_login(root)
    for attempt, response in attempts():
        if attempt == "chooser":
            assert response.status_code == 302
        elif attempt == "session, api":
            assert [p["name"] for p in response.json()["results"]] == ["Igname de Bouaké"]
        else:
            assert response.status_code == 200, attempt
            assert response.context["site"] == two, attempt

    client.logout()
    client.force_login(user)
    for attempt, response in attempts():
        page = response.content.decode()
        assert "Site Two" not in page and "Igname" not in page, attempt
        if attempt == "chooser":
            assert response.status_code == 404
        elif attempt == "url, product":
            assert response.status_code == 404
        elif attempt.endswith("site") and role == "staff":
            assert response.status_code == 403
        else:
            assert response.status_code == 200, attempt
            assert "Site One" in page or "Mil de Thiès" in page, attempt


def test_a_user_with_no_site_is_told_so_whatever_site_is_named(client, shop, make_user):
    client.force_login(make_user("nobody"))
    session = client.session
    session[SESSION_KEY] = shop[1].pk
    session.save()
    for path in ("/", f"/?site={shop[1].pk}", "/site/", "/products/new/"):
        response = client.get(path)
        assert response.status_code == 404, path
        page = response.content.decode()
        assert "encore rattaché à aucun site" in page
        assert "Site Two" not in page and "Site One" not in page
