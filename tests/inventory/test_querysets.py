"""Which products and sites a user reaches: ``visible_to``, one rule that
the pages, the API, the admin and the upload tickets share. Staff of one
site find nothing of another, as if it did not exist (404, or not listed),
even with every permission on their own site; superusers reach every site."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from inventory.models import Configuration, Product, User


@pytest.fixture
def shops(sites, make_user):
    one, two = sites
    return {
        "one": one,
        "two": two,
        "mine": Product.objects.create(site_configuration=one, name="Riz", cug="R1"),
        "theirs": Product.objects.create(site_configuration=two, name="Attiéké", cug="A1"),
        # May do everything to their own site's products, and its settings.
        "boss": make_user("boss", one, is_site_admin=True, is_staff=True),
        "root": User.objects.create_superuser("root", "root@example.com", "pw"),
    }


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def api_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_visible_to_staff_is_their_own_sites_rows(shops, make_user):
    boss, one, two = shops["boss"], shops["one"], shops["two"]

    assert list(Product.objects.visible_to(boss)) == [shops["mine"]]
    assert list(Product.objects.visible_to(boss, one)) == [shops["mine"]]
    assert not Product.objects.visible_to(boss, two).exists(), "naming a site reveals nothing"
    assert list(Configuration.objects.visible_to(boss)) == [one]
    assert not Product.objects.visible_to(make_user("nobody")).exists(), "attached to no site"
    assert not Configuration.objects.visible_to(make_user("nobody2")).exists()


def test_visible_to_a_superuser_is_every_site(shops):
    root = shops["root"]

    assert set(Product.objects.visible_to(root)) == {shops["mine"], shops["theirs"]}
    assert list(Product.objects.visible_to(root, shops["two"])) == [shops["theirs"]]
    assert set(Configuration.objects.visible_to(root)) == {shops["one"], shops["two"]}


def test_pages_neither_list_nor_open_another_sites_product(shops):
    client = page_client(shops["boss"])
    theirs = shops["theirs"]

    listing = client.get(f"/?site={shops['two'].pk}")
    assert [product.name for product in listing.context["page"]] == ["Riz"]
    assert client.get(f"/products/{theirs.pk}/").status_code == 404
    changed = client.post(f"/products/{theirs.pk}/", {"name": "X", "cug": "A1", "price": 1})
    assert changed.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Attiéké"


def test_the_api_neither_lists_nor_reaches_another_sites_product(shops):
    api = api_client(shops["boss"])
    theirs = shops["theirs"].pk

    listing = api.get(f"/api/products/?site={shops['two'].pk}").json()
    assert [item["cug"] for item in listing["results"]] == ["R1"]
    for method in ("get", "put", "patch", "delete"):
        response = getattr(api, method)(f"/api/products/{theirs}/", {"name": "X"}, format="json")
        assert response.status_code == 404, method
    assert Product.objects.get(pk=theirs).name == "Attiéké"


def test_the_admin_neither_lists_nor_reaches_another_sites_product(shops):
    client = page_client(shops["boss"])
    theirs = shops["theirs"].pk
    base = "/admin/inventory/product/"

    assert "Attiéké" not in client.get(base).content.decode()
    for view in ("change", "delete"):
        # The admin's answer for a missing row: back to its index.
        response = client.get(f"{base}{theirs}/{view}/")
        assert (response.status_code, response["Location"]) == (302, "/admin/"), view
    client.post(f"{base}{theirs}/change/", {"name": "X", "cug": "A1", "price": 1, "quantity": 1})
    client.post(f"{base}{theirs}/delete/", {"post": "yes"})
    client.post(base, {"action": "delete_selected", "_selected_action": [theirs], "post": "yes"})
    assert Product.objects.get(pk=theirs).name == "Attiéké"


def test_upload_tickets_reach_no_other_site(shops):
    api = api_client(shops["boss"])
    ticket = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}

    photo = api.post(
        "/api/uploads/tickets/",
        {**ticket, "kind": "product", "object_id": shops["theirs"].pk},
        format="json",
    )
    logo = api.post(
        "/api/uploads/tickets/",
        {**ticket, "kind": "logo", "object_id": shops["two"].pk},
        format="json",
    )

    assert (photo.status_code, logo.status_code) == (404, 404)


def test_superusers_reach_every_sites_product(shops):
    root = shops["root"]
    theirs = shops["theirs"]
    client, api = page_client(root), api_client(root)

    admin_list = client.get("/admin/inventory/product/").content.decode()
    assert "Riz" in admin_list and "Attiéké" in admin_list
    assert client.get(f"/admin/inventory/product/{theirs.pk}/change/").status_code == 200
    assert client.get(f"/products/{theirs.pk}/?site={shops['two'].pk}").status_code == 200
    site = f"?site={shops['two'].pk}"
    assert api.get(f"/api/products/{site}").json()["results"][0]["cug"] == "A1"
    assert api.get(f"/api/products/{theirs.pk}/{site}").status_code == 200
    assert api.delete(f"/api/products/{theirs.pk}/{site}").status_code == 204
    assert not Product.objects.filter(pk=theirs.pk).exists()
