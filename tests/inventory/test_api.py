"""The products and site API: one site's data per token, and a schema that
describes every endpoint."""

import re

import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.models import Configuration, Product
from inventory.search import SEARCH_MAX_CHARACTERS, SEARCH_MAX_WORDS
from inventory.serializers import ProductSerializer, SiteSerializer
from tests.support.renditions import default_rendition_name, set_renditions
from uploads import services


@pytest.fixture
def client_of(make_user):
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def two_shops(sites, make_user):
    one, two = sites
    Product.objects.create(site_configuration=one, name="Riz", cug="R1", price=1000, quantity=3)
    Product.objects.create(site_configuration=one, name="Huile", cug="H1", price=6500)
    foreign = Product.objects.create(site_configuration=two, name="Attiéké", cug="A1")
    return {
        "one": one,
        "two": two,
        "foreign": foreign,
        "staff": make_user("staff", one),
        "boss": make_user("boss", one, is_site_admin=True),
    }


def test_products_of_the_users_site_only(client_of, two_shops):
    api = client_of(two_shops["staff"])
    listing = api.get("/api/products/").json()
    assert listing["count"] == 2
    assert {item["cug"] for item in listing["results"]} == {"R1", "H1"}

    foreign = two_shops["foreign"].pk
    api = client_of(two_shops["boss"])  # who may do all four, on their own site
    for method in ("get", "patch", "put", "delete"):
        response = getattr(api, method)(f"/api/products/{foreign}/", {}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), method
    assert Product.objects.filter(pk=foreign).exists()


def test_search_and_pagination(client_of, two_shops):
    api = client_of(two_shops["staff"])
    found = api.get("/api/products/?search=huile").json()
    assert [item["name"] for item in found["results"]] == ["Huile"]
    # Each word, in the name or the CUG, as the pages' search box finds.
    both = api.get("/api/products/", {"search": "HUI, h"}).json()
    assert [item["name"] for item in both["results"]] == ["Huile"]
    assert api.get("/api/products/", {"search": "huile riz"}).json()["count"] == 0
    nul = api.get("/api/products/", {"search": "Hu\x00ile"})
    assert (nul.status_code, nul.json()["count"]) == (200, 0)
    paged = api.get("/api/products/?page_size=1&page=2").json()
    assert paged["count"] == 2 and len(paged["results"]) == 1 and paged["previous"]


# In the user's language (French unless the client asks for another), and
# its way of writing numbers.
SEARCH_TOO_LONG = {
    "fr": "Une recherche compte au plus 20 mots et 2\xa0000 caractères.",
    "en": "A search holds at most 20 words and 2,000 characters.",
}


def test_a_search_too_long_is_refused_and_told_why(client_of, two_shops):
    """A client builds its query: one past the limits (``inventory.search``)
    is refused, a 400 whose ``errors.search`` says why, not answered as if
    another query had been asked (its first words: products that lack the
    others). 2,000 words (4 kB) took ten seconds of CPU before any limit."""
    api = client_of(two_shops["staff"])
    words = ["riz"] * SEARCH_MAX_WORDS

    at_the_limit = api.get("/api/products/", {"search": " ".join(words)})
    assert [item["name"] for item in at_the_limit.json()["results"]] == ["Riz"]
    longest = api.get("/api/products/", {"search": "r" * SEARCH_MAX_CHARACTERS})
    assert (longest.status_code, longest.json()["count"]) == (200, 0)

    past = [
        " ".join([*words, "riz"]),
        ",".join([*words, "riz"]),  # words apart by commas count as words
        "riz " * 2000,
        "r" * (SEARCH_MAX_CHARACTERS + 1),
        "riz" + " " * SEARCH_MAX_CHARACTERS,
    ]
    for text in past:
        response = api.get("/api/products/", {"search": text})
        assert response.status_code == 400, text[:20]
        assert response.json() == {
            "code": "invalid",
            "detail": "La requête n'est pas valide.",
            "errors": {"search": [SEARCH_TOO_LONG["fr"]]},
        }
    english = api.get("/api/products/", {"search": past[0]}, HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["errors"] == {"search": [SEARCH_TOO_LONG["en"]]}


def test_create_update_delete(client_of, two_shops, make_user, local_media):
    api = client_of(two_shops["staff"])
    created = api.post(
        "/api/products/",
        {"name": "Sucre", "cug": "S1", "price": "900.00", "quantity": 5},
        format="json",
    )
    assert created.status_code == 201
    product = Product.objects.get(pk=created.json()["id"])
    assert product.site_configuration == two_shops["one"]
    assert created.json()["image_url"] is None

    duplicate = api.post("/api/products/", {"name": "X", "cug": "S1"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "invalid" and "cug" in duplicate.json()["errors"]
    same_cug_elsewhere = client_of(make_user("other", two_shops["two"]))
    assert (
        same_cug_elsewhere.post(
            "/api/products/", {"name": "X", "cug": "S1"}, format="json"
        ).status_code
        == 201
    )

    assert (
        api.patch(f"/api/products/{product.pk}/", {"quantity": 7}, format="json").json()["quantity"]
        == 7
    )
    product.image.save("s.jpg", ContentFile(b"jpeg"))
    image = api.get(f"/api/products/{product.pk}/").json()
    assert (image["image_state"], image["image_url"], image["original_url"]) == (
        "pending",
        None,
        None,
    )

    api = client_of(two_shops["boss"])  # staff may not delete products
    assert api.delete(f"/api/products/{product.pk}/").status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_deleting_a_product_deletes_its_image_after_commit(
    client_of, sites, make_user, local_media
):
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R1")
    product.image.save("r.jpg", ContentFile(b"jpeg"))
    path = local_media / product.image.name
    assert path.exists()

    boss = make_user("boss", sites[0], is_site_admin=True)
    response = client_of(boss).delete(f"/api/products/{product.pk}/")

    assert response.status_code == 204
    assert not path.exists()


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_cug_taken_between_the_check_and_the_save_is_a_400(
    client_of, two_shops, monkeypatch, method
):
    """Two requests with one CUG at once (an app that retries a create whose
    answer was slow): both pass the check, the database refuses the second
    save, which answers as the check would have, not with a 500."""
    api = client_of(two_shops["staff"])
    check = ProductSerializer.validate_cug

    def racing(self, cug):
        cug = check(self, cug)
        Product.objects.create(site_configuration=two_shops["one"], name="Other", cug=cug)
        return cug

    monkeypatch.setattr(ProductSerializer, "validate_cug", racing)
    url = (
        "/api/products/"
        if method == "post"
        else f"/api/products/{Product.objects.get(cug='R1').pk}/"
    )

    response = getattr(api, method)(url, {"name": "Sucre", "cug": "S1"}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and "cug" in response.json()["errors"]
    assert Product.objects.filter(cug="S1").count() == 1
    assert Product.objects.filter(cug="R1").exists()


def test_image_is_read_only(client_of, two_shops):
    api = client_of(two_shops["staff"])
    product = Product.objects.get(cug="R1")
    api.patch(f"/api/products/{product.pk}/", {"image_url": "http://evil/x.jpg"}, format="json")
    product.refresh_from_db()
    assert not product.image


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_change_keeps_the_photo_confirmed_while_it_was_checked(
    client_of, two_shops, monkeypatch, method
):
    """A photo confirmed (from another phone, say) between the request's
    reading of the product and its save: the save writes the fields sent,
    not the image it read before, which names the replaced photo, deleted
    once replaced (a broken image)."""
    product = Product.objects.get(cug="R1")
    Product.objects.filter(pk=product.pk).update(image="old.jpg")
    check = ProductSerializer.validate

    def photo_confirmed_meanwhile(serializer, attrs):
        Product.objects.filter(pk=product.pk).update(image="new.jpg")
        return check(serializer, attrs)

    monkeypatch.setattr(ProductSerializer, "validate", photo_confirmed_meanwhile)
    body = {"name": "Riz parfumé", "cug": "R1", "price": "1000", "quantity": 3}

    response = getattr(client_of(two_shops["staff"]), method)(
        f"/api/products/{product.pk}/", body, format="json"
    )

    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert (product.name, product.image.name) == ("Riz parfumé", "new.jpg")


def test_a_change_of_the_site_keeps_the_logo_confirmed_meanwhile(client_of, two_shops, monkeypatch):
    """As for a product's photo: the site's change writes what was sent,
    not the logo the request read before one was confirmed."""
    site = two_shops["one"]
    check = SiteSerializer.validate

    def logo_confirmed_meanwhile(serializer, attrs):
        Configuration.objects.filter(pk=site.pk).update(logo="new.png")
        return check(serializer, attrs)

    monkeypatch.setattr(SiteSerializer, "validate", logo_confirmed_meanwhile)

    response = client_of(two_shops["boss"]).patch("/api/site/", {"phone": "+221 1"}, format="json")

    assert response.status_code == 200, response.json()
    site.refresh_from_db()
    assert (site.phone, site.logo.name) == ("+221 1", "new.png")


def test_site_endpoint(client_of, two_shops):
    staff, boss = client_of(two_shops["staff"]), client_of(two_shops["boss"])
    site = staff.get("/api/site/").json()
    assert site["id"] == two_shops["one"].pk and site["logo_url"] is None

    refused = staff.patch("/api/site/", {"phone": "+221 1"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert boss.patch("/api/site/", {"phone": "+221 1"}, format="json").json()["phone"] == "+221 1"


def test_superusers_pick_a_site(client_of, django_user_model, two_shops):
    root = client_of(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    assert root.get("/api/products/").json()["code"] == "invalid"
    two = two_shops["two"].pk
    assert [p["cug"] for p in root.get(f"/api/products/?site={two}").json()["results"]] == ["A1"]
    assert root.get(f"/api/site/?site={two}").json()["id"] == two
    assert root.get("/api/products/?site=99999").status_code == 404
    # ?site= means nothing for anyone else.
    staff = client_of(two_shops["staff"])
    assert staff.get(f"/api/products/?site={two}").json()["count"] == 2


def test_user_without_a_site_is_refused(client_of, make_user):
    api = client_of(make_user("nobody"))
    for path in ("/api/products/", "/api/site/"):
        response = api.get(path)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_schema_generates_cleanly(tmp_path, db):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").stat().st_size > 1000


def test_schema_and_docs(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(schema["paths"]) >= {
        "/api/auth/token/",
        "/api/products/",
        "/api/products/{id}/",
        "/api/site/",
        "/api/uploads/tickets/",
        "/api/uploads/tickets/{ticket_id}/",
        "/api/uploads/tickets/{ticket_id}/confirm/",
    }
    confirm = schema["paths"]["/api/uploads/tickets/{ticket_id}/confirm/"]["post"]
    assert set(confirm["responses"]) >= {"200", "404", "409", "410", "422", "503"}
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # Assets are served from this site, never from a CDN (the lowercased
    # page once held "cdn" by chance, in its random CSRF token).
    assets = re.findall(r'(?:src|href)="([^"]*)"', docs.content.decode())
    assert assets
    assert all(url.startswith("/static/") for url in assets), assets


def test_password_guessing_is_throttled_per_username(client, make_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "3/min",
        },
    }
    make_user("staff")
    make_user("other")

    def login(username, password):
        return client.post(
            "/api/auth/token/",
            {"username": username, "password": password},
            content_type="application/json",
        )

    guesses = [login("staff", f"guess-{n}").status_code for n in range(3)]
    blocked = login("staff", "pw")
    other = login("other", "pw")

    assert guesses == [400, 400, 400]
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "throttled" and blocked.json()["detail"]
    assert int(blocked["Retry-After"]) > 0
    assert other.status_code == 200 and other.json()["token"]


def test_logging_in_ignores_stale_credentials(make_user):
    """The token endpoint documents no security: an app that still sends
    a token since reset, or a browser signed in without a CSRF token, logs
    in with the right password rather than getting 401 or 403."""
    user = make_user("staff")
    stale = Client(HTTP_AUTHORIZATION="Token " + "0" * 40)
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(user)
    for client in (stale, signed_in):
        response = client.post(
            "/api/auth/token/",
            {"username": "staff", "password": "pw"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.json()
        assert response.json()["token"]


def test_a_token_of_one_site_reaches_nothing_of_another(client, two_shops, make_user):
    """Every endpoint, as an app of site one calls it: site two's products,
    site, tickets and logo stay out of reach, whatever ids it sends."""
    boss = two_shops["boss"]
    token = Token.objects.create(user=boss).key
    one, two, foreign = two_shops["one"], two_shops["two"], two_shops["foreign"]
    their_ticket = services.issue_ticket(
        make_user("them", two, is_site_admin=True),
        kind="product",
        object_id=foreign.pk,
        content_type="image/jpeg",
        size=1000,
    ).ticket

    def call(method, path, data=None):
        return getattr(client, method)(
            path, data, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
        )

    listing = call("get", f"/api/products/?search={foreign.cug}&site={two.pk}").json()
    assert listing["count"] == 0
    for method in ("get", "put", "patch", "delete"):
        response = call(method, f"/api/products/{foreign.pk}/?site={two.pk}", {"name": "X"})
        assert response.status_code == 404, method
    site = call("get", f"/api/site/?site={two.pk}").json()
    assert site["id"] == one.pk
    call("patch", f"/api/site/?site={two.pk}", {"city": "Bouaké"})
    two.refresh_from_db()
    assert two.city != "Bouaké"
    ticket_path = f"/api/uploads/tickets/{their_ticket.id}/"
    for method, path in (("get", ticket_path), ("post", ticket_path + "confirm/")):
        response = call(method, path)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), path
    for kind, object_id in (("product", foreign.pk), ("logo", two.pk)):
        response = call(
            "post",
            "/api/uploads/tickets/",
            {"kind": kind, "object_id": object_id, "content_type": "image/jpeg", "size": 1000},
        )
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), kind
    foreign.refresh_from_db()
    assert foreign.name == "Attiéké"


def with_photo(product, name="photo.jpg"):
    product.image.save(name, ContentFile(b"jpeg"))
    return product


@pytest.mark.parametrize(
    ("state", "has_renditions"), [("pending", False), ("failed", False), ("ready", True)]
)
def test_products_link_only_renditions(client_of, two_shops, local_media, state, has_renditions):
    product = with_photo(Product.objects.get(cug="R1"))
    set_renditions(product.image.name, state)

    item = client_of(two_shops["staff"]).get(f"/api/products/{product.pk}/").json()

    assert item["image_state"] == state
    assert item["original_url"] is None
    urls = [item["thumbnail_url"], item["image_url"]]
    if not has_renditions:
        assert urls == [None, None]
    else:
        assert urls == [
            f"http://testserver/media/{default_rendition_name(product.image.name, spec)}"
            for spec in ("thumb", "display")
        ]
    assert product.image.name not in str(item)


def test_products_without_a_photo_say_none(client_of, two_shops):
    item = client_of(two_shops["boss"]).get("/api/products/").json()["results"][0]
    assert (item["image_state"], item["thumbnail_url"], item["image_url"]) == ("none", None, None)
    assert item["original_url"] is None


def test_only_site_admins_and_superusers_get_the_original(
    client_of, two_shops, django_user_model, local_media
):
    product = with_photo(Product.objects.get(cug="R1"))
    set_renditions(product.image.name, "ready")
    root = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    site = two_shops["one"].pk
    original = f"http://testserver/media/{product.image.name}"

    def original_url(user):
        return (
            client_of(user).get(f"/api/products/{product.pk}/?site={site}").json()["original_url"]
        )

    assert original_url(two_shops["staff"]) is None
    assert original_url(two_shops["boss"]) == original
    assert original_url(root) == original


def test_the_site_logo_links_only_renditions(client_of, two_shops, local_media):
    site = two_shops["one"]
    site.logo.save("logo.png", ContentFile(b"png"))
    staff, boss = client_of(two_shops["staff"]), client_of(two_shops["boss"])

    pending = staff.get("/api/site/").json()
    assert (pending["logo_state"], pending["logo_url"], pending["logo_thumbnail_url"]) == (
        "pending",
        None,
        None,
    )
    set_renditions(site.logo.name, "ready")
    ready = staff.get("/api/site/").json()
    assert ready["logo_state"] == "ready"
    assert "-display-" in ready["logo_url"] and ready["logo_url"].endswith(".webp")
    assert "-thumb-" in ready["logo_thumbnail_url"]
    assert ready["logo_original_url"] is None
    assert boss.get("/api/site/").json()["logo_original_url"] == (
        f"http://testserver/media/{site.logo.name}"
    )


def test_a_page_of_products_fetches_renditions_in_one_query(
    client_of, two_shops, local_media, django_assert_max_num_queries
):
    api = client_of(two_shops["boss"])
    site = two_shops["one"]

    def add_products(count, start):
        for number in range(start, start + count):
            product = with_photo(
                Product.objects.create(site_configuration=site, name=f"P{number}", cug=f"P{number}")
            )
            set_renditions(product.image.name, "ready")

    add_products(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/products/").status_code == 200
    add_products(15, 2)
    with django_assert_max_num_queries(len(few)):
        listing = api.get("/api/products/").json()
    assert {item["image_state"] for item in listing["results"]} == {"ready", "none"}
