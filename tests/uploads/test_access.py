"""Who may upload to what: another site's objects and tickets are not
found, a logo needs a site admin."""

import re

import pytest
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.images import jpeg, png
from tests.support.tickets import confirm, issue, ticket_request


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_another_sites_product_is_not_found(api, sites):
    foreign = Product.objects.create(site_configuration=sites[1], name="X", cug="X")

    response = api.post("/api/uploads/tickets/", ticket_request(foreign, jpeg()), format="json")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_missing_product_looks_the_same_as_a_foreign_one(api, sites):
    foreign = Product.objects.create(site_configuration=sites[1], name="X", cug="X")
    missing = api.post(
        "/api/uploads/tickets/",
        {**ticket_request(foreign, jpeg()), "object_id": foreign.pk + 1000},
        format="json",
    )
    other = api.post("/api/uploads/tickets/", ticket_request(foreign, jpeg()), format="json")
    assert missing.status_code == other.status_code == 404
    assert missing.json() == other.json()


def test_user_without_a_site_finds_nothing(make_user, product):
    client = client_for(make_user("nobody"))
    response = client.post("/api/uploads/tickets/", ticket_request(product, jpeg()), format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")

    logo = client.post(
        "/api/uploads/tickets/",
        {"kind": "logo", "content_type": "image/png", "size": 100, "filename": "l.png"},
        format="json",
    )
    assert (logo.status_code, logo.json()["code"]) == (404, "not_found")


def test_another_users_ticket_is_not_found(store, api, product, make_user, sites):
    ticket = issue(api, product, jpeg())
    for user in (make_user("colleague", sites[0]), make_user("stranger", sites[1])):
        other = client_for(user)
        assert other.get(f"/api/uploads/tickets/{ticket['id']}/").status_code == 404
        response = confirm(other, ticket)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_unknown_ticket_is_not_found(api):
    response = api.get("/api/uploads/tickets/00000000-0000-0000-0000-000000000000/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def logo_request(**overrides):
    return {
        "kind": "logo",
        "content_type": "image/png",
        "size": 100,
        "filename": "logo.png",
        **overrides,
    }


def test_staff_may_not_upload_a_logo(api):
    response = api.post("/api/uploads/tickets/", logo_request(), format="json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_site_admin_uploads_the_logo_of_their_own_site(store, make_user, site):
    admin = client_for(make_user("boss", site, is_site_admin=True))
    body = png((200, 80))

    response = admin.post("/api/uploads/tickets/", logo_request(size=len(body)), format="json")

    assert response.status_code == 201
    ticket = response.json()
    assert ticket["object_id"] == site.pk, "object_id defaults to the user's site"
    assert re.fullmatch(
        rf"media/sites/{site.pk}/config/incoming/[0-9a-f]{{32}}\.png",
        ticket["upload"]["fields"]["key"],
    )
    assert store.post(ticket["upload"], body, file_type="image/png") in (200, 201, 204)
    data = confirm(admin, ticket).json()
    assert data["key"].startswith(f"media/sites/{site.pk}/config/")
    site.refresh_from_db()
    assert "media/" + site.logo.name == data["key"]


def test_site_admin_cannot_reach_another_sites_logo(make_user, sites):
    admin = client_for(make_user("boss", sites[0], is_site_admin=True))
    response = admin.post(
        "/api/uploads/tickets/", logo_request(object_id=sites[1].pk), format="json"
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_superuser_acts_on_any_site(store, django_user_model, sites):
    root = client_for(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    other_product = Product.objects.create(site_configuration=sites[1], name="Y", cug="Y")
    ticket = issue(root, other_product, jpeg())
    assert ticket["upload"]["fields"]["key"].startswith(f"media/sites/{sites[1].pk}/products/")

    logo = root.post("/api/uploads/tickets/", logo_request(object_id=sites[1].pk), format="json")
    assert logo.status_code == 201


def test_ticket_is_bound_to_the_site_it_was_issued_for(store, api, product, sites):
    """A product moved to another site after issue is not attached with a
    key of its old site's folder."""
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    Product.objects.filter(pk=product.pk).update(site_configuration=sites[1])

    response = confirm(api, ticket)

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    product.refresh_from_db()
    assert not product.image


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/uploads/tickets/"),
        ("get", "/api/uploads/tickets/00000000-0000-0000-0000-000000000000/"),
        ("post", "/api/uploads/tickets/00000000-0000-0000-0000-000000000000/confirm/"),
    ],
)
def test_anonymous_requests_get_401(client, method, path):
    response = getattr(client, method)(path)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")
