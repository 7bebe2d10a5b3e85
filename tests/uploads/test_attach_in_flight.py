"""Confirm's attachment when another transaction changes a row while the
attachment runs (PostgreSQL: READ COMMITTED, the other transaction holding
the row's lock when the attachment starts and committing while it waits).

``test_attach_changes`` commits each change before the attachment's
statement begins, so that statement's snapshot already sees it; here the
change is not in the snapshot, and only the row locks (and PostgreSQL's
recheck of the newest row version, EvalPlanQual) decide.
"""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection

from inventory.models import Configuration, Product
from tests.support.images import jpeg
from tests.support.tickets import confirm, issue
from uploads import attachment
from uploads.models import PendingDeletion, UploadTicket

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks in flight need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("store", ["local"], indirect=True),
]


@contextmanager
def in_flight_before_attaching(sql, params=(), hold=0.5):
    """Right before the statement that confirms the ticket, another
    connection runs ``sql`` in a transaction it commits ``hold`` seconds
    later, while the attachment waits for its locks."""
    ticket_table = connection.ops.quote_name(UploadTicket._meta.db_table)
    confirming = f"UPDATE {ticket_table} SET {connection.ops.quote_name('status')}"
    pending = [True]
    threads = []
    errors = []

    def other(ready):
        try:
            other = connection.Database.connect(**connection.get_connection_params())
            try:
                with other.cursor() as cursor:
                    cursor.execute(sql, params)
                ready.set()
                threading.Event().wait(hold)
                other.commit()
            finally:
                other.close()
        except Exception as error:  # pragma: no cover: reported below
            errors.append(error)
            ready.set()

    def wrapper(execute, statement, statement_params, many, context):
        if pending and confirming in statement:
            pending.pop()
            ready = threading.Event()
            thread = threading.Thread(target=other, args=(ready,))
            thread.start()
            threads.append(thread)
            ready.wait(10)
        return execute(statement, statement_params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert not pending, "the ticket was never confirmed"


@pytest.fixture
def statement(monkeypatch):
    """What each one-statement attachment answered: (claimed, current)."""
    answers = []
    attach = attachment.attach

    def spy(*args, **kwargs):
        answers.append(attach(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(attachment, "attach", spy)
    return answers


def uploaded(store, api, product, shade):
    body = jpeg(color=(shade, 2, 3))
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def product_update(column, value, product):
    table = connection.ops.quote_name(Product._meta.db_table)
    return (
        f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",
        [value, product.pk],
    )


def test_an_image_attached_in_flight_is_the_one_replaced(store, api, product, statement):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    meanwhile = confirm(api, uploaded(store, api, product, 90)).json()
    ticket = uploaded(store, api, product, 200)
    Product.objects.filter(pk=product.pk).update(image=first["key"].removeprefix("media/"))
    store.put(first["key"], b"first")

    with in_flight_before_attaching(
        *product_update("image", meanwhile["key"].removeprefix("media/"), product)
    ):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert statement[-1] == (True, False), "the statement saw the change and fell back"
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    assert store.keys() == sorted([first["key"], response.json()["key"]])
    assert not PendingDeletion.objects.exists()


def test_an_object_moved_in_flight_is_not_attached(store, api, product, statement):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)
    elsewhere = Configuration.objects.create(site_name="Ailleurs")

    api.raise_request_exception = False
    with in_flight_before_attaching(
        *product_update("site_configuration_id", elsewhere.pk, product)
    ):
        response = confirm(api, ticket)

    assert response.status_code == 404, response.json()
    assert statement[-1] == (True, False)
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, "")


def test_another_column_changed_in_flight_is_kept_and_the_image_attached(
    store, api, product, statement
):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)

    with in_flight_before_attaching(*product_update("quantity", 42, product)):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert statement[-1] == (True, True), "attached in the one statement"
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    assert product.quantity == 42, "the other transaction's change is not lost"
    assert store.keys() == [response.json()["key"]], "the first image is deleted once replaced"
    assert first["key"] not in store.keys()


def test_a_claim_taken_over_in_flight_attaches_nothing(store, api, product, statement):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)
    table = connection.ops.quote_name(UploadTicket._meta.db_table)

    api.raise_request_exception = False
    with in_flight_before_attaching(
        f"UPDATE {table} SET final_key = %s WHERE id = %s",
        ["media/taken-over.jpg", ticket["id"]],
    ):
        response = confirm(api, ticket)

    assert response.status_code == 503, response.json()
    assert statement[-1] == (False, False)
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, "media/taken-over.jpg")


def test_a_ticket_row_touched_in_flight_still_confirms(store, api, product, statement):
    confirm(api, uploaded(store, api, product, 10))
    ticket = uploaded(store, api, product, 200)
    table = connection.ops.quote_name(UploadTicket._meta.db_table)

    with in_flight_before_attaching(
        f"UPDATE {table} SET filename = filename WHERE id = %s", [ticket["id"]]
    ):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert statement[-1] == (True, True), "attached in the one statement"
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert row.status == UploadTicket.Status.CONFIRMED


def test_an_object_deleted_in_flight_is_not_attached(store, api, product, statement):
    ticket = uploaded(store, api, product, 200)
    table = connection.ops.quote_name(Product._meta.db_table)

    api.raise_request_exception = False
    with in_flight_before_attaching(f"DELETE FROM {table} WHERE id = %s", [product.pk]):
        response = confirm(api, ticket)

    assert response.status_code == 404, response.json()
    assert statement[-1] == (True, False)
    assert not Product.objects.filter(pk=product.pk).exists()
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert row.status == UploadTicket.Status.ISSUED
