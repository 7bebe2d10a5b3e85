"""Attacks on the products API, the admin's upload fields and the ticket
API that earlier rounds left untried: races between a confirm and a change
to its object, and forms sending two changes at once. Each test is what a
user relies on."""

import pytest
from rest_framework.test import APIClient

from inventory import api as inventory_api
from inventory.models import Product
from tests.support.images import png
from tests.support.stores import LocalStore
from tests.support.tickets import sha256_b64
from uploads.models import PendingDeletion


@pytest.fixture
def store(local_media):
    return LocalStore(local_media)


@pytest.fixture
def shop(sites, make_user):
    site = sites[0]
    return {
        "site": site,
        "staff": make_user("staff", site, is_staff=True),
        "admin": make_user("boss", site, is_site_admin=True, is_staff=True),
        "product": Product.objects.create(site_configuration=site, name="Riz", cug="R-1"),
    }


def api_of(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def posted_ticket(client, store, product, body):
    """A ticket for ``product``'s photo, its file posted, not confirmed."""
    response = client.post(
        "/api/uploads/tickets/",
        {
            "kind": "product",
            "object_id": product.pk,
            "content_type": "image/png",
            "size": len(body),
            "sha256": sha256_b64(body),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert store.post(ticket["upload"], body, file_type="image/png") in (200, 201, 204)
    return ticket


def confirmed_photo(client, store, product, body):
    ticket = posted_ticket(client, store, product, body)
    response = client.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")
    assert response.status_code == 200, response.json()
    return response.json()["key"]


@pytest.mark.django_db(transaction=True)
def test_a_photo_confirmed_while_its_product_is_deleted_does_not_stay_behind(
    shop, store, monkeypatch
):
    """The API's DELETE reads the product, then deletes it: a confirm that
    attaches a new photo in between must not leave that photo in the
    bucket, named by no row, for good (the delete recorded the photo it had
    read, the one the confirm replaced)."""
    product = shop["product"]
    staff_api, admin_api = api_of(shop["staff"]), api_of(shop["admin"])
    old_key = confirmed_photo(staff_api, store, product, png((40, 30)))
    racing = posted_ticket(staff_api, store, product, png((50, 40), color=(1, 2, 3)))
    confirmed = {}
    perform_destroy = inventory_api.ProductViewSet.perform_destroy

    def confirm_then_destroy(view, instance):
        # The row was read (get_object) before this confirm commits.
        answer = staff_api.post(f"/api/uploads/tickets/{racing['id']}/confirm/")
        assert answer.status_code == 200, answer.json()
        confirmed["key"] = answer.json()["key"]
        return perform_destroy(view, instance)

    monkeypatch.setattr(inventory_api.ProductViewSet, "perform_destroy", confirm_then_destroy)
    response = admin_api.delete(f"/api/products/{product.pk}/")
    assert response.status_code == 204

    assert not Product.objects.filter(pk=product.pk).exists()
    kept = set(store.all_keys())
    assert old_key not in kept
    assert confirmed["key"] not in kept, "the new photo stayed in the bucket, named by no row"
    assert not PendingDeletion.objects.filter(key=confirmed["key"]).exists()


def login_rate(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": rate,
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", [int, float])
def test_a_username_sent_as_a_number_is_throttled_as_the_same_username(
    client, make_user, settings, spelling
):
    """Shops name staff by employee or phone number. DRF reads a JSON number
    as the username's text, and authenticates it; the login throttle keyed
    only text usernames, so guesses at a numbered account sent as numbers
    were never throttled."""
    settings.AXES_FAILURE_LIMIT = 100
    login_rate(settings, "3/min")
    number = 5551234
    make_user(str(spelling(number)))
    answers = [
        client.post(
            "/api/auth/token/",
            {"username": spelling(number), "password": f"guess-{n}"},
            content_type="application/json",
        )
        for n in range(6)
    ]
    assert [answer.status_code for answer in answers] == [400] * 3 + [429] * 3
    assert answers[-1].json()["code"] == "throttled"
