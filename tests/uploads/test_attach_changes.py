"""Confirm's attachment when a row changes after confirm read it.

On PostgreSQL confirm reads the target's row, then attaches in one
statement that holds only if the row and the ticket are still as read
(``uploads.attachment``); elsewhere it attaches in a transaction that
locks them. Either way, what the rows hold when the attachment happens
decides: each change below is made, and committed on PostgreSQL, just
before the statement that confirms the ticket.
"""

from contextlib import contextmanager

import pytest
from django.db import connection

from inventory.models import Configuration, Product
from tests.support.images import jpeg
from tests.support.tickets import confirm, issue
from uploads.errors import ConfirmInProgress
from uploads.models import PendingDeletion, UploadTicket

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def before_attaching(change):
    """Run ``change()`` once, right before the statement that confirms the
    ticket (the one statement, or the transaction's first)."""
    ticket_table = connection.ops.quote_name(UploadTicket._meta.db_table)
    confirming = f"UPDATE {ticket_table} SET {connection.ops.quote_name('status')}"
    pending = [change]

    def wrapper(execute, sql, params, many, context):
        if pending and confirming in sql:
            pending.pop()()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
    assert not pending, "the ticket was never confirmed"


def incoming(ticket):
    return ticket["upload"]["fields"]["key"]


def uploaded(store, api, product, shade):
    body = jpeg(color=(shade, 2, 3))
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def test_an_image_attached_meanwhile_is_the_one_replaced(store, api, product):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    meanwhile = confirm(api, uploaded(store, api, product, 90)).json()
    ticket = uploaded(store, api, product, 200)
    # Confirm reads the product with its first image; another confirm's
    # image is attached before this one attaches.
    Product.objects.filter(pk=product.pk).update(image=first["key"].removeprefix("media/"))
    store.put(first["key"], b"first")

    def attach_meanwhile():
        Product.objects.filter(pk=product.pk).update(image=meanwhile["key"].removeprefix("media/"))

    with before_attaching(attach_meanwhile):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    # The image replaced is the one attached when this confirm attached;
    # the one it read was not replaced by it (its own replace deletes it).
    assert store.keys() == sorted([first["key"], response.json()["key"]])
    assert not PendingDeletion.objects.exists()


def test_an_object_moved_to_another_site_meanwhile_is_not_attached(store, api, product):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)
    elsewhere = Configuration.objects.create(site_name="Ailleurs")

    def move():
        Product.objects.filter(pk=product.pk).update(site_configuration=elsewhere)

    api.raise_request_exception = False
    with before_attaching(move):
        response = confirm(api, ticket)

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    assert store.keys() == sorted([first["key"], incoming(ticket)]), "the copy is deleted"
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, "")


def test_a_claim_taken_over_meanwhile_attaches_nothing(store, api, product):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)

    def take_over():
        # A confirm that took the lapsed claim over names its own copy.
        UploadTicket.objects.filter(pk=ticket["id"]).update(final_key="media/taken-over.jpg")

    api.raise_request_exception = False
    with before_attaching(take_over):
        response = confirm(api, ticket)

    assert response.status_code == 503, response.json()
    assert response.json()["code"] == "storage_unavailable"
    assert response.json()["detail"] == str(ConfirmInProgress.default_detail)
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, "media/taken-over.jpg")
    assert store.keys() == sorted([first["key"], incoming(ticket)]), (
        "this confirm's copy is deleted"
    )
