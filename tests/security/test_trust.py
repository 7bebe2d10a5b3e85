"""Checks that trust nothing they need not: a ticket's row, an unsigned
form, a JPEG's metadata (issue 13, "Checks that trust too much")."""

from inventory.models import Product
from tests.images import jpeg
from tests.uploads import conftest as uploads
from tests.uploads.conftest import confirm, issue
from uploads.models import UploadTicket

# The upload tests' fixtures: both storage modes, a site's staff, a product.
store = uploads.store
committed = uploads.committed
site = uploads.site
product = uploads.product
staff = uploads.staff
api = uploads.api

# --- Confirm re-derives the incoming key ------------------------------------


def test_confirm_refuses_a_ticket_whose_row_names_another_sites_object(store, api, product, sites):
    other_body = jpeg((80, 60), color=(1, 2, 3))
    other = Product.objects.create(site_configuration=sites[1], name="Sel", cug="S-1")
    other_key = f"media/sites/{sites[1].pk}/products/{'b' * 32}.jpg"
    store.put(other_key, other_body)
    other.image.name = other_key.removeprefix("media/")
    other.save()
    ticket = issue(api, product, other_body)
    # The row altered after issue, as by SQL injection or a bad migration.
    UploadTicket.objects.filter(pk=ticket["id"]).update(incoming_key=other_key)

    response = confirm(api, ticket)

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "ticket_tampered"
    assert store.read(other_key) == other_body, "the other site's object is untouched"
    assert store.keys() == [other_key], "nothing was copied into site 1"
    product.refresh_from_db()
    assert not product.image
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.error_code) == (UploadTicket.Status.REJECTED, "ticket_tampered")
    # Rejected for good: confirming again gives the same answer.
    assert confirm(api, ticket).json()["code"] == "ticket_tampered"
    assert store.read(other_key) == other_body


def test_confirm_still_attaches_an_untampered_ticket(store, api, product):
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) == 204

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
