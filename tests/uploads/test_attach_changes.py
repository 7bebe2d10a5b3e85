"""Confirm's attachment when rows change after confirm read them.

On PostgreSQL confirm reads the target's row, then attaches in one
statement that holds only if the row and the ticket are still as read
(``uploads.attachment``); elsewhere it attaches in a transaction that
locks them. Either way, what the rows hold when the attachment happens
decides. Each change below is made right before the statement that
confirms the ticket, in one of two ways (``meanwhile``):

    committed  made on confirm's connection first: committed at once on
               PostgreSQL, so the statement's snapshot sees it; inside the
               attachment's transaction on SQLite (rolled back with it)
    in_flight  made by another connection that still holds the row's lock
               when the statement starts, and commits while it waits
               (PostgreSQL, READ COMMITTED: only the row locks, and the
               recheck of the newest row version, decide)
"""

import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from inventory.models import Configuration, Product
from tests.support.images import jpeg
from tests.support.tickets import confirm, issue
from uploads import attachment
from uploads.errors import ConfirmInProgress
from uploads.models import PendingDeletion, UploadTicket

pytestmark = pytest.mark.django_db(transaction=True)
postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks in flight need PostgreSQL"
)
quote = connection.ops.quote_name
CONFIRMING = f"UPDATE {quote(UploadTicket._meta.db_table)} SET {quote('status')}"


@contextmanager
def before_attaching(change):
    """Run ``change()`` once, right before the statement that confirms the
    ticket (the one statement, or the transaction's first); what it
    returns, if anything, is called once the confirm has answered."""
    pending, finish = [change], []

    def wrapper(execute, sql, params, many, context):
        if pending and CONFIRMING in sql:
            finish.append(pending.pop()())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
    assert not pending, "the ticket was never confirmed"
    for done in filter(None, finish):
        done()


def committed(sql, params, *, first=()):
    """``sql`` run on confirm's own connection (see the module's doc)."""

    def change():
        with connection.cursor() as cursor:
            for statement in (*first, (sql, params)):
                cursor.execute(*statement)

    return change


def in_flight(sql, params, *, first=(), hold=0.5):
    """``sql`` run by another connection, which commits ``first`` at once
    and ``sql`` ``hold`` seconds later."""

    def change():
        ready, errors = threading.Event(), []

        def run():
            try:
                other = connection.Database.connect(**connection.get_connection_params())
                try:
                    with other.cursor() as cursor:
                        for statement in first:
                            cursor.execute(*statement)
                            other.commit()
                        cursor.execute(sql, params)
                    ready.set()
                    time.sleep(hold)
                    other.commit()
                finally:
                    other.close()
            except Exception as error:
                errors.append(error)
                ready.set()

        thread = threading.Thread(target=run)
        thread.start()
        ready.wait(10)

        def done():
            thread.join(10)
            assert not errors, errors

        return done

    return change


@pytest.fixture(params=["committed", pytest.param("in_flight", marks=postgresql)])
def meanwhile(request):
    return committed if request.param == "committed" else in_flight


@pytest.fixture
def statement(monkeypatch):
    """What each one-statement attachment answered: ``(claimed, current)``."""
    answers = []
    attach = attachment.attach

    def spy(*args, **kwargs):
        answers.append(attach(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(attachment, "attach", spy)
    return answers


@pytest.fixture
def superuser_api(make_user, site):
    client = APIClient()
    client.force_authenticate(make_user("root", site, is_superuser=True, is_staff=True))
    return client


def one_statement(answer):
    """What the one statement answered, on PostgreSQL; elsewhere there is
    none (the transaction attaches)."""
    return [answer] if connection.vendor == "postgresql" else []


def incoming(ticket):
    return ticket["upload"]["fields"]["key"]


def uploaded(store, api, obj, shade, **overrides):
    body = jpeg(color=(shade, 2, 3))
    ticket = issue(api, obj, body, **overrides)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def product_update(product, column, value):
    sql = f"UPDATE {quote(Product._meta.db_table)} SET {quote(column)} = %s WHERE id = %s"
    return sql, [value, product.pk]


def ticket_update(ticket, column, value):
    sql = f"UPDATE {quote(UploadTicket._meta.db_table)} SET {quote(column)} = %s WHERE id = %s"
    return sql, [value, uuid.UUID(ticket["id"]).hex]


def test_an_image_attached_meanwhile_is_the_one_replaced(store, api, product, meanwhile, statement):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    other = confirm(api, uploaded(store, api, product, 90)).json()
    ticket = uploaded(store, api, product, 200)
    # Confirm reads the product with its first image; another confirm's
    # image is attached before this one attaches.
    Product.objects.filter(pk=product.pk).update(image=first["key"].removeprefix("media/"))
    store.put(first["key"], b"first")
    del statement[:]

    with before_attaching(
        meanwhile(*product_update(product, "image", other["key"].removeprefix("media/")))
    ):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert statement == one_statement((True, False)), "the row changed: the transaction's turn"
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    # The image replaced is the one attached when this confirm attached;
    # the one it read was not replaced by it (its own replace deletes it).
    assert store.keys() == sorted([first["key"], response.json()["key"]])
    assert not PendingDeletion.objects.exists()


def test_an_object_moved_to_another_site_meanwhile_is_not_attached(
    store, api, product, meanwhile, statement
):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)
    elsewhere = Configuration.objects.create(site_name="Ailleurs")
    del statement[:]

    api.raise_request_exception = False
    with before_attaching(
        meanwhile(*product_update(product, "site_configuration_id", elsewhere.pk))
    ):
        response = confirm(api, ticket)

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    assert statement == one_statement((True, False))
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    assert store.keys() == sorted([first["key"], incoming(ticket)]), "the copy is deleted"
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, "")


def test_an_object_deleted_meanwhile_is_not_attached(store, api, product, meanwhile, statement):
    ticket = uploaded(store, api, product, 200)
    sql = f"DELETE FROM {quote(Product._meta.db_table)} WHERE id = %s"

    api.raise_request_exception = False
    with before_attaching(meanwhile(sql, [product.pk])):
        response = confirm(api, ticket)

    assert response.status_code == 404, response.json()
    assert UploadTicket.objects.get(pk=ticket["id"]).status == UploadTicket.Status.ISSUED
    assert store.keys() == [incoming(ticket)], "the copy is deleted"


def test_a_claim_taken_over_meanwhile_attaches_nothing(store, api, product, meanwhile, statement):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)
    del statement[:]

    api.raise_request_exception = False
    # A confirm that took the lapsed claim over names its own copy.
    with before_attaching(meanwhile(*ticket_update(ticket, "final_key", "media/taken-over.jpg"))):
        response = confirm(api, ticket)

    assert response.status_code == 503, response.json()
    assert response.json()["code"] == "storage_unavailable"
    assert response.json()["detail"] == str(ConfirmInProgress.default_detail)
    assert statement == one_statement((False, False))
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, "media/taken-over.jpg")
    assert store.keys() == sorted([first["key"], incoming(ticket)]), (
        "this confirm's copy is deleted"
    )


@postgresql
@pytest.mark.parametrize("one", [True, False], ids=["one-statement", "transaction"])
def test_a_lost_claim_answers_as_the_confirm_that_took_it_over(
    store, api, product, monkeypatch, one
):
    """The other confirm took the lapsed claim over (committed) and is
    attaching (its transaction holds the ticket's row) when this one
    attaches: this one waits for the row, and answers as the other did."""
    if not one:
        monkeypatch.setattr(attachment, "supported", lambda target: False)
    ticket = uploaded(store, api, product, 200)
    taken_over = f"media/sites/{product.site_configuration_id}/products/taken-over.jpg"

    with before_attaching(
        in_flight(
            *ticket_update(ticket, "status", UploadTicket.Status.CONFIRMED.value),
            first=[ticket_update(ticket, "final_key", taken_over)],
        )
    ):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert response.json()["key"] == taken_over


@postgresql
def test_another_column_changed_in_flight_is_kept_and_the_image_attached(
    store, api, product, statement
):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)

    with before_attaching(in_flight(*product_update(product, "quantity", 42))):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert statement[-1] == (True, True), "attached in the one statement"
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    assert product.quantity == 42, "the other transaction's change is not lost"
    assert store.keys() == [response.json()["key"]]
    assert first["key"] not in store.keys()


@postgresql
def test_a_ticket_row_touched_in_flight_still_confirms(store, api, product, statement):
    ticket = uploaded(store, api, product, 200)
    sql = f"UPDATE {quote(UploadTicket._meta.db_table)} SET filename = filename WHERE id = %s"

    with before_attaching(in_flight(sql, [uuid.UUID(ticket["id"]).hex])):
        response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert statement == [(True, True)], "attached in the one statement"
    assert UploadTicket.objects.get(pk=ticket["id"]).status == UploadTicket.Status.CONFIRMED


@postgresql
def test_a_logo_attaches_in_one_statement(store, superuser_api, site, statement):
    first = confirm(superuser_api, uploaded(store, superuser_api, site, 10, kind="logo")).json()
    response = confirm(superuser_api, uploaded(store, superuser_api, site, 200, kind="logo"))

    assert response.status_code == 200, response.json()
    assert statement == [(True, True), (True, True)]
    site.refresh_from_db()
    assert "media/" + site.logo.name == response.json()["key"]
    assert first["key"] not in store.keys()


@postgresql
def test_a_product_of_no_site_attaches_in_one_statement(store, superuser_api, statement):
    # A legacy product: its ticket's site is NULL, as its own.
    product = Product.objects.create(site_configuration=None, name="Ancien", cug="A-1")
    first = confirm(superuser_api, uploaded(store, superuser_api, product, 10)).json()
    response = confirm(superuser_api, uploaded(store, superuser_api, product, 200))

    assert response.status_code == 200, response.json()
    assert statement == [(True, True), (True, True)], "attached in the one statement"
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    assert first["key"] not in store.keys()


@contextmanager
def answer_lost(*, then_unreachable=False, error=None):
    """The attachment commits and its answer is lost on the way back (the
    connection drops, or ``error`` comes instead); with
    ``then_unreachable``, the database is not reached again until the
    confirm has answered."""
    lost = []

    def wrapper(execute, sql, params, many, context):
        if lost and then_unreachable:
            raise OperationalError("could not connect to server")
        result = execute(sql, params, many, context)
        if not lost and CONFIRMING in sql:
            lost.append(sql)
            raise error or OperationalError("server closed the connection unexpectedly")
        return result

    with connection.execute_wrapper(wrapper):
        yield
    assert lost, "the ticket was never confirmed"


@postgresql
@pytest.mark.renditions
def test_an_attachment_whose_answer_was_lost_is_confirmed_and_its_copy_kept(store, api, product):
    first = confirm(api, uploaded(store, api, product, 10)).json()
    ticket = uploaded(store, api, product, 200)

    with answer_lost():
        response = confirm(api, ticket)

    # The ticket's row says it was attached: so it was.
    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    assert store.read(response.json()["key"]), "the attached copy is kept"
    assert store.rendition_keys(), "the new image's renditions are made"
    # The objects it left unused are recorded, for purge_uploads.
    recorded = set(PendingDeletion.objects.values_list("key", flat=True))
    assert {first["key"], incoming(ticket)} <= recorded


@postgresql
def test_an_attachment_whose_answer_was_lost_on_a_database_gone_keeps_its_copy(store, api, product):
    confirm(api, uploaded(store, api, product, 10))
    ticket = uploaded(store, api, product, 200)

    api.raise_request_exception = False
    with answer_lost(then_unreachable=True):
        response = confirm(api, ticket)

    assert response.status_code == 503, response.json()
    assert response.json()["code"] == "database_unavailable"
    product.refresh_from_db()
    attached = "media/" + product.image.name
    assert attached == UploadTicket.objects.get(pk=ticket["id"]).final_key
    assert store.read(attached), "the copy it attached is not deleted"


@contextmanager
def answer_lost_in_flight(*, hold=0.5):
    """The connection drops while the server still runs the attachment: the
    statement was sent and the server commits it ``hold`` seconds after the
    client saw the error (e.g. it waited on a row lock, and the server
    notices a client gone only when it answers). Here the statement runs
    on another connection, which holds the ticket's row until it commits."""
    finish = []

    def wrapper(execute, sql, params, many, context):
        if not finish and CONFIRMING in sql:
            finish.append(in_flight(sql, params, hold=hold)())
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
    assert finish, "the ticket was never confirmed"
    finish[0]()


@postgresql
def test_an_attachment_committed_after_its_connection_dropped_keeps_its_copy(store, api, product):
    """Confirm must not read the ticket's row before the statement still
    running ends: read without waiting for the row's lock, the ticket looks
    issued, the copy is deleted, and the product then points at nothing."""
    confirm(api, uploaded(store, api, product, 10))
    ticket = uploaded(store, api, product, 200)

    api.raise_request_exception = False
    with answer_lost_in_flight():
        response = confirm(api, ticket)

    product.refresh_from_db()
    attached = "media/" + product.image.name
    assert attached == UploadTicket.objects.get(pk=ticket["id"]).final_key
    assert store.read(attached), "the copy it attached is not deleted"
    assert response.status_code == 200, response.json()
    assert response.json()["key"] == attached


@postgresql
def test_an_interrupt_after_the_attachment_committed_is_not_swallowed(store, api, product):
    """A SystemExit (a worker told to stop) or KeyboardInterrupt that comes
    once the attachment committed keeps the copy, and still stops the
    request: confirm does not answer as if nothing had happened."""
    ticket = uploaded(store, api, product, 200)

    with answer_lost(error=SystemExit(1)), pytest.raises(SystemExit):
        confirm(api, ticket)

    product.refresh_from_db()
    attached = "media/" + product.image.name
    assert attached == UploadTicket.objects.get(pk=ticket["id"]).final_key
    assert store.read(attached), "the copy it attached is not deleted"
