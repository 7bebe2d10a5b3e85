"""The demo data, the home page and the admin, each scoped to one site."""

import re

import pytest
from django.conf import settings
from django.core.management import call_command

from inventory.forms import ProductForm, SiteSettingsForm
from inventory.models import Configuration, Product, User
from inventory.querysets import search_terms
from inventory.search import SEARCH_MAX_CHARACTERS, SEARCH_MAX_WORDS


def test_seed_demo_is_idempotent_and_prints_logins(db, capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Configuration.objects.count(), Product.objects.count(), User.objects.count())
    call_command("seed_demo")

    assert (Configuration.objects.count(), Product.objects.count(), User.objects.count()) == counts
    assert counts[0] == 2 and counts[1] >= 4
    for username in ("admin", "dakar-admin", "dakar-staff", "abidjan-admin", "abidjan-staff"):
        assert username in first
    assert User.objects.get(username="admin").is_superuser
    dakar_admin = User.objects.get(username="dakar-admin")
    assert dakar_admin.is_site_admin
    assert dakar_admin.site_configuration.site_name == "Boutique Dakar"
    assert not User.objects.get(username="dakar-staff").is_site_admin
    assert dakar_admin.check_password("demo1234")


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_lists_only_the_users_site(client, sites, make_user):
    one, two = sites
    Product.objects.create(site_configuration=one, name="Mil de Thiès", cug="A")
    Product.objects.create(site_configuration=two, name="Igname de Bouaké", cug="B")
    client.force_login(make_user("alice", one))

    page = client.get("/").content.decode()

    assert "Mil de Thiès" in page
    assert "Igname de Bouaké" not in page


def test_admin_shows_staff_only_their_site(client, db):
    call_command("seed_demo")
    client.login(username="dakar-staff", password="demo1234")

    page = client.get("/admin/inventory/product/").content.decode()

    assert "Riz parfumé" in page
    assert "Attiéké" not in page
    other = Product.objects.get(cug="ABJ-001")
    assert client.get(f"/admin/inventory/product/{other.pk}/change/").status_code == 302


def test_admin_saves_new_products_in_the_staff_site(client, db):
    call_command("seed_demo")
    client.login(username="abidjan-staff", password="demo1234")

    response = client.post(
        "/admin/inventory/product/add/",
        {"name": "Banane plantain", "cug": "ABJ-9", "price": "500", "quantity": "3"},
    )

    assert response.status_code == 302
    product = Product.objects.get(cug="ABJ-9")
    assert product.site_configuration.site_name == "Boutique Abidjan"


def test_only_site_admins_change_their_site(client, db):
    call_command("seed_demo")
    dakar = Configuration.objects.get(site_name="Boutique Dakar")
    abidjan = Configuration.objects.get(site_name="Boutique Abidjan")

    client.login(username="dakar-admin", password="demo1234")
    assert client.get(f"/admin/inventory/configuration/{dakar.pk}/change/").status_code == 200
    assert client.get(f"/admin/inventory/configuration/{abidjan.pk}/change/").status_code == 302

    client.login(username="dakar-staff", password="demo1234")
    assert client.get(f"/admin/inventory/configuration/{dakar.pk}/change/").status_code == 403


def test_product_list_searches_and_paginates(client, sites, make_user):
    site = sites[0]
    for number in range(25):
        Product.objects.create(site_configuration=site, name=f"Riz {number:02d}", cug=f"R{number}")
    Product.objects.create(site_configuration=site, name="Huile", cug="H1")
    client.force_login(make_user("alice", site))

    first = client.get("/")
    assert len(first.context["page"]) == 20
    assert first.context["page"].paginator.num_pages == 2
    second = client.get("/?page=2")
    assert len(second.context["page"]) == 6

    found = client.get("/?q=huile")
    assert [p.name for p in found.context["page"]] == ["Huile"]
    by_code = client.get("/?q=R1")
    assert {p.cug for p in by_code.context["page"]} >= {"R1", "R10"}


def test_a_search_finds_the_products_holding_each_of_its_words(client, sites, make_user):
    """Staff type words as they come: "riz 25" is the rice of 25 kg, not a
    name holding "riz 25" as it is."""
    site = sites[0]
    for name, cug in [("Riz parfumé 25 kg", "R-25"), ("Riz brisé 5 kg", "R-5"), ("Sel", "S-25")]:
        Product.objects.create(site_configuration=site, name=name, cug=cug)
    client.force_login(make_user("alice", site))

    def found(query):
        return sorted(p.name for p in client.get("/", {"q": query}).context["page"])

    assert found("riz 25") == ["Riz parfumé 25 kg"]
    assert found("RIZ, kg") == ["Riz brisé 5 kg", "Riz parfumé 25 kg"]
    assert found("25") == ["Riz parfumé 25 kg", "Sel"], "the CUG too"
    assert found("kg riz") == ["Riz brisé 5 kg", "Riz parfumé 25 kg"], "in any order"
    assert found('"kg riz"') == [], "quoted words are one"
    assert found('"brisé 5"') == ["Riz brisé 5 kg"]
    assert found("riz sucre") == []


def test_a_search_with_a_nul_finds_nothing_rather_than_failing(client, sites, make_user):
    """PostgreSQL takes no NUL in a parameter (a 500 there), and no name or
    CUG holds one: such a search finds no product."""
    Product.objects.create(site_configuration=sites[0], name="Huile", cug="H1")
    client.force_login(make_user("alice", sites[0]))

    response = client.get("/?q=Hu%00ile")

    assert response.status_code == 200
    assert list(response.context["page"]) == []
    assert response.context["query"] == "Hu\x00ile"


def test_a_search_of_thousands_of_words_answers_as_one_of_a_few(client, sites, make_user):
    """Each word is a condition on the name and the CUG: 2,000 words (a
    query string of 4 kB, within gunicorn's request line) took ten seconds
    of CPU on the pages and the API, the query built word by word, and were
    a 500 on SQLite (a query nested past 1,000 deep); a word of 60,000
    letters was one too (SQLite's longest LIKE pattern). A search is
    searched by its beginning (the API refuses it: test_api); a word longer
    than any name or CUG finds nothing."""
    Product.objects.create(site_configuration=sites[0], name="Riz parfumé", cug="R-25")
    client.force_login(make_user("alice", sites[0]))

    many = client.get("/", {"q": "riz " * 2000})
    long_word = client.get("/", {"q": "r" * 60000})

    assert [p.name for p in many.context["page"]] == ["Riz parfumé"]
    assert list(long_word.context["page"]) == []
    distinct = " ".join(f"riz{number}" for number in range(2000))
    conditions = str(Product.objects.search(distinct).query).count("LIKE")
    assert conditions == 2 * SEARCH_MAX_WORDS


SHORTENED = "Votre recherche est trop longue : seul son début a été recherché."


def test_a_search_too_long_is_searched_by_its_beginning_and_the_page_says_so(
    client, sites, make_user
):
    """A phone's search box is not refused a search past the limits
    (``inventory.search``): a refusal would cost a round trip on a slow
    link to show nothing. Its beginning is searched, which finds every
    product the whole search would, and the page says that only its
    beginning was; the box keeps what was typed."""
    Product.objects.create(site_configuration=sites[0], name="Riz parfumé", cug="R-25")
    Product.objects.create(site_configuration=sites[0], name="Sel", cug="S-1")
    client.force_login(make_user("alice", sites[0]))
    words = ["riz"] * SEARCH_MAX_WORDS

    def names(response):
        return [product.name for product in response.context["page"]]

    at_the_limit = client.get("/", {"q": " ".join(words)})
    assert names(at_the_limit) == ["Riz parfumé"]
    assert SHORTENED not in at_the_limit.content.decode()
    assert names(client.get("/", {"q": " ".join([*words[1:], "sucre"])})) == [], "all are read"

    past = [
        " ".join([*words, "sucre"]),  # the word past the limit is not searched
        ",".join([*words, "sucre"]),  # words apart by commas count as words
        "riz" + " " * SEARCH_MAX_CHARACTERS + "sucre",  # nor what is past the characters
    ]
    for query in past:
        response = client.get("/", {"q": query})
        assert response.status_code == 200
        assert names(response) == ["Riz parfumé"], query[-20:]
        assert SHORTENED in response.content.decode()
        assert response.context["query"] == query


def test_a_quoted_phrase_the_limit_cuts_is_searched_by_its_beginning(client, sites, make_user):
    """The limit of characters may fall inside a quoted phrase: cut there,
    ``"riz parfumé 25 kg"`` was read as the words ``"riz`` (with its
    quote, which no name holds) and what followed, and the page found
    nothing. The phrase is read as the whole search reads it, one word,
    and its beginning searched, as a word of letters is (``riz ``, its
    space kept): every product the whole search finds."""
    Product.objects.create(site_configuration=sites[0], name="Riz parfumé 25 kg", cug="R-25")
    Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    client.force_login(make_user("alice", sites[0]))
    phrase = '"riz parfumé 25 kg"'
    query = "riz" + " " * (SEARCH_MAX_CHARACTERS - len("riz") - 5) + phrase

    response = client.get("/", {"q": query})

    assert [product.name for product in response.context["page"]] == ["Riz parfumé 25 kg"]
    assert SHORTENED in response.content.decode()


@pytest.mark.parametrize(
    "text, limit, words",
    [
        ('a "b c d"', 6, ["a", "b c"]),  # a phrase cut: its beginning, one word
        ('a "b c d"', 2, ["a"]),  # nothing of it: the words before
        (r'"a\"b c"', 3, ["a"]),  # half an escape left out
        (r'"a\"b c"', 5, ['a"b']),
        ('"riz"25 sel', 5, ['"riz']),  # no phrase: read as written
        ("riz sel", 6, ["riz", "se"]),  # a word of letters: its beginning
        ("riz, sel", 6, ["riz", "s"]),  # apart by a comma too
        ("riz sel", 99, ["riz", "sel"]),
    ],
)
def test_a_search_cut_reads_its_words_as_the_whole_search_does(text, limit, words):
    assert list(search_terms(text, limit)) == words


def test_another_sites_product_page_is_not_found(client, sites, make_user):
    foreign = Product.objects.create(site_configuration=sites[1], name="X", cug="X")
    client.force_login(make_user("alice", sites[0]))
    assert client.get(f"/products/{foreign.pk}/").status_code == 404
    assert client.post(f"/products/{foreign.pk}/", {"name": "Y"}).status_code == 404


def test_product_zero_is_not_found_rather_than_a_new_product(client, sites, make_user):
    """/products/0/ names no product: it is no second address of the new
    product's page, which would create one on save."""
    client.force_login(make_user("alice", sites[0]))
    form = {"name": "Mil", "cug": "M-0", "price": "1", "quantity": "1"}

    assert client.get("/products/0/").status_code == 404
    assert client.post("/products/0/", form).status_code == 404
    assert not Product.objects.exists()


def test_creating_a_product_for_the_picker_answers_json(client, sites, make_user):
    client.force_login(make_user("alice", sites[0]))
    data = {"name": "Mil", "cug": "M1", "price": "100", "quantity": "2"}

    response = client.post("/products/new/", data, HTTP_ACCEPT="application/json")

    assert response.status_code == 201
    product = Product.objects.get(cug="M1")
    assert response.json() == {"id": product.pk, "url": f"/products/{product.pk}/"}
    assert product.site_configuration == sites[0]

    duplicate = client.post("/products/new/", data, HTTP_ACCEPT="application/json")
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"__all__": ["Ce site a déjà un produit avec ce CUG."]}


def test_updating_a_product_for_the_picker_answers_200_not_201(client, sites, make_user):
    """201 Created says a product was made; saving one that exists (a client
    asking for JSON on a product's page) answers 200 with the same body."""
    product = Product.objects.create(site_configuration=sites[0], name="Mil", cug="M1")
    client.force_login(make_user("alice", sites[0]))
    data = {"name": "Mil de Thiès", "cug": "M1", "price": "100", "quantity": "2"}

    response = client.post(f"/products/{product.pk}/", data, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response.json() == {"id": product.pk, "url": f"/products/{product.pk}/"}
    product.refresh_from_db()
    assert product.name == "Mil de Thiès"


def test_saving_a_product_keeps_the_photo_attached_while_the_form_was_checked(
    client, sites, make_user, monkeypatch
):
    """A photo confirmed (from another phone, or a picker that did not
    wait) between the page's reading of the product and its save: the
    save writes the form's fields, not the image it read before, which
    would name the replaced photo, deleted once replaced."""
    product = Product.objects.create(
        site_configuration=sites[0], name="Mil", cug="M1", image="old.jpg"
    )
    client.force_login(make_user("alice", sites[0]))
    data = {"name": "Mil de Thiès", "cug": "M1", "price": "100", "quantity": "2"}
    check = ProductForm.validate_unique

    def photo_confirmed_meanwhile(form):
        Product.objects.filter(pk=product.pk).update(image="new.jpg")
        check(form)

    monkeypatch.setattr(ProductForm, "validate_unique", photo_confirmed_meanwhile)

    response = client.post(f"/products/{product.pk}/", data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.image.name) == ("Mil de Thiès", "new.jpg")


def test_a_cug_taken_between_the_check_and_the_save_is_the_forms_error(
    client, sites, make_user, monkeypatch
):
    """The picker's create sent twice at once (a double tap): both pass the
    form's check, the constraint refuses the second save, which answers as
    the check would have rather than with a 500."""
    client.force_login(make_user("alice", sites[0]))
    data = {"name": "Mil", "cug": "M1", "price": "100", "quantity": "2"}
    check = ProductForm.validate_unique

    def racing(form):
        check(form)
        if not form.errors:
            Product.objects.create(site_configuration=sites[0], name="Mil", cug="M1")

    monkeypatch.setattr(ProductForm, "validate_unique", racing)

    response = client.post("/products/new/", data, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"__all__": ["Ce site a déjà un produit avec ce CUG."]}
    assert Product.objects.filter(cug="M1").count() == 1


def new_product_form(client):
    """The new product page's form data, with its key (save_key)."""
    page = client.get("/products/new/").content.decode()
    (key,) = re.findall(r'name="save_key" value="([^"]+)"', page)
    return {"name": "Mil", "cug": "M1", "price": "100", "quantity": "2", "save_key": key}


def test_a_new_product_form_sent_twice_saves_one_product(client, sites, make_user):
    """The form sent again (a second tap while the first sending goes on,
    with no script to stop it): the same product saved again, as the page
    the browser shows says, not "CUG taken" about the product the first
    sending made."""
    client.force_login(make_user("alice", sites[0]))
    data = new_product_form(client)

    first = client.post("/products/new/", data)
    again = client.post("/products/new/", data, follow=True)

    product = Product.objects.get()
    assert first.url == f"/products/{product.pk}/"
    assert again.redirect_chain == [(first.url, 302)]
    assert "Produit enregistré." in [str(message) for message in again.context["messages"]]


def test_the_pickers_save_sent_again_is_its_products(client, sites, make_user):
    """The picker's save made the product but its answer was lost on the
    network; the user corrects the name and saves again: the same product
    is saved (200, not 201), with the name corrected."""
    client.force_login(make_user("alice", sites[0]))
    data = new_product_form(client)
    made = client.post("/products/new/", data, HTTP_ACCEPT="application/json").json()

    again = client.post(
        "/products/new/", {**data, "name": "Mil de Thiès"}, HTTP_ACCEPT="application/json"
    )

    assert again.status_code == 200
    assert again.json() == made
    assert list(Product.objects.values_list("name", flat=True)) == ["Mil de Thiès"]


@pytest.mark.parametrize("first_cug", ["M1", "M0"])
def test_a_form_sent_twice_at_once_finds_the_product_its_first_sending_made(
    client, sites, make_user, monkeypatch, first_cug
):
    """Both sendings look for the form's product before either has made it;
    the second is refused by the first's CUG, or by its key alone when the
    CUG was corrected in between (M0, then M1), then finds the product and
    saves it: not a 500."""
    client.force_login(make_user("alice", sites[0]))
    data = new_product_form(client)
    check = ProductForm.validate_unique

    def racing(form):
        if not Product.objects.exists():
            Product.objects.create(
                site_configuration=sites[0], name="Mil", cug=first_cug, save_key=data["save_key"]
            )
        check(form)

    monkeypatch.setattr(ProductForm, "validate_unique", racing)

    response = client.post("/products/new/", data, HTTP_ACCEPT="application/json")

    product = Product.objects.get()
    assert response.status_code == 200
    assert response.json() == {"id": product.pk, "url": f"/products/{product.pk}/"}
    assert product.cug == "M1"


def test_only_the_forms_own_product_is_saved_again(client, sites, make_user):
    """A key is of one site's product: another site's, or a product's
    page, names no product made by the form."""
    client.force_login(make_user("alice", sites[0]))
    data = new_product_form(client)
    Product.objects.create(
        site_configuration=sites[1], name="Mil", cug="M1", save_key=data["save_key"]
    )

    response = client.post("/products/new/", data, HTTP_ACCEPT="application/json")

    assert response.status_code == 201
    assert Product.objects.get(pk=response.json()["id"]).site_configuration == sites[0]
    page = client.get(response.json()["url"]).content.decode()
    assert "save_key" not in page


def test_saving_the_form_again_needs_the_right_to_change_its_product(client, sites, make_user):
    """One who may add products but not change them: their form sent again
    is refused as taking the CUG (the first sending's answer says the
    product was saved), and the product they added stays as it was."""
    adder = ["inventory.view_product", "inventory.add_product"]
    client.force_login(make_user("alice", sites[0], permissions=adder))
    data = new_product_form(client)
    assert client.post("/products/new/", data, HTTP_ACCEPT="application/json").status_code == 201

    again = client.post(
        "/products/new/", {**data, "name": "Mil de Thiès"}, HTTP_ACCEPT="application/json"
    )

    assert again.status_code == 400
    assert again.json()["errors"] == {"__all__": ["Ce site a déjà un produit avec ce CUG."]}
    assert list(Product.objects.values_list("name", flat=True)) == ["Mil"]

    # With another CUG: a second product, as from a form without a key.
    other = client.post("/products/new/", {**data, "cug": "M2"}, HTTP_ACCEPT="application/json")

    assert other.status_code == 201
    assert sorted(Product.objects.values_list("cug", "name")) == [("M1", "Mil"), ("M2", "Mil")]


def test_cug_may_repeat_across_sites_but_not_within_one(client, sites, make_user):
    Product.objects.create(site_configuration=sites[1], name="Mil", cug="M1")
    client.force_login(make_user("alice", sites[0]))
    data = {"name": "Mil", "cug": "M1", "price": "100", "quantity": "2"}
    assert client.post("/products/new/", data).status_code == 302
    again = client.post("/products/new/", data)
    assert again.status_code == 200
    assert again.context["form"].errors


def test_site_settings_only_for_site_admins(client, sites, make_user):
    client.force_login(make_user("staff", sites[0]))
    assert client.get("/site/").status_code == 403
    client.force_login(make_user("boss", sites[0], is_site_admin=True))
    page = client.get("/site/")
    assert page.status_code == 200
    assert 'data-kind="logo"' in page.content.decode()
    response = client.post("/site/", {"site_name": "Site Un", "currency": "XOF"})
    assert response.status_code == 302
    sites[0].refresh_from_db()
    assert sites[0].site_name == "Site Un"


def test_saving_site_settings_keeps_the_logo_attached_meanwhile(
    client, sites, make_user, monkeypatch
):
    """As for a product's photo: the settings' save writes the settings,
    not the logo the page read before one was confirmed."""
    client.force_login(make_user("boss", sites[0], is_site_admin=True))
    check = SiteSettingsForm.validate_unique

    def logo_confirmed_meanwhile(form):
        Configuration.objects.filter(pk=sites[0].pk).update(logo="new.png")
        check(form)

    monkeypatch.setattr(SiteSettingsForm, "validate_unique", logo_confirmed_meanwhile)

    response = client.post("/site/", {"site_name": "Site Un", "currency": "XOF"})

    assert response.status_code == 302
    sites[0].refresh_from_db()
    assert (sites[0].site_name, sites[0].logo.name) == ("Site Un", "new.png")


def test_pages_speak_french_by_default_and_english_on_request(client, sites, make_user):
    client.force_login(make_user("alice", sites[0]))
    assert "Ajouter un produit" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Add a product" in client.get("/").content.decode()


@pytest.mark.parametrize("language", ["de", "fr-ca", "EN"])
def test_a_language_the_site_does_not_offer_is_not_kept(client, sites, make_user, language):
    """Django's set_language keeps any language it has a catalog for (its
    own German one, say) in the cookie, which LocaleMiddleware then ignores:
    the pages fell back to French, the user's English lost. Only the
    switcher's languages are kept; another is ignored as Django ignores one
    it has no catalog for."""
    client.force_login(make_user("alice", sites[0]))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Add a product" in client.get("/").content.decode()


def test_the_language_switcher_says_what_it_is_and_each_language_by_name(client, sites, make_user):
    """A screen reader announces a form named "Langue", and each language's
    button in that language, whose own name is its tooltip."""
    client.force_login(make_user("alice", sites[0]))
    page = client.get("/").content.decode()

    assert re.search(r'<form class="language"[^>]* aria-label="Langue"', page)
    assert re.search(r'value="fr" lang="fr" title="français"[^>]*>FR<', page)
    assert re.search(r'value="en" lang="en" title="English"[^>]*>EN<', page)


def test_the_admin_takes_no_image_bytes(client, db):
    call_command("seed_demo")
    client.login(username="dakar-admin", password="demo1234")
    product = Product.objects.get(cug="DKR-001")
    site = Configuration.objects.get(site_name="Boutique Dakar")

    product_page = client.get(f"/admin/inventory/product/{product.pk}/change/").content.decode()
    site_page = client.get(f"/admin/inventory/configuration/{site.pk}/change/").content.decode()

    # The widgets' file inputs have no name (the file goes to the store),
    # and the forms are not multipart: no image bytes can be posted here.
    for page in (product_page, site_page):
        assert re.findall(r'<input type="file"[^>]*>', page)
        assert not re.findall(r'<input type="file"[^>]*name=', page)
        assert "multipart/form-data" not in page
    # The links name the site, so that a superuser lands on its pages.
    product_link = f"/products/{product.pk}/?site={site.pk}"
    assert f'href="{product_link}"' in product_page
    assert f'href="/site/?site={site.pk}"' in site_page
    assert client.get(product_link).context["product"] == product
