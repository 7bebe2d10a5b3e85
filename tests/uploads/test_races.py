"""Concurrent confirms and tickets, on PostgreSQL's real locks (CI runs the
suite on PostgreSQL; SQLite has no row locks to test, and runs its writing
statements one at a time)."""

import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from tests.support.images import jpeg
from tests.support.tickets import issue, ticket_request, unsigned
from uploads.models import UploadTicket

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="lock races need PostgreSQL (DATABASE_URL)"
    ),
    # The threads' connections see only what is committed.
    pytest.mark.django_db(transaction=True),
]


def concurrently(user, calls):
    """Make each call (``client -> response``) from its own thread and
    connection, as ``user``, all released at once; their (status, body)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=10)
            response = call(client)
            results[index] = (response.status_code, response.json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def confirm_concurrently(user, ticket_ids):
    """Confirm each ticket id from its own thread, all released at once."""
    return concurrently(
        user,
        [
            lambda client, i=ticket_id: client.post(f"/api/uploads/tickets/{i}/confirm/")
            for ticket_id in ticket_ids
        ],
    )


def test_concurrent_confirms_of_one_ticket_attach_once(store, api, staff, product):
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)

    results = confirm_concurrently(staff, [ticket["id"]] * 4)

    assert [status for status, _ in results] == [200] * 4
    bodies = [data for _, data in results]
    assert all(unsigned(data) == unsigned(bodies[0]) for data in bodies)
    product.refresh_from_db()
    assert "media/" + product.image.name == bodies[0]["key"]
    assert store.keys() == [bodies[0]["key"]], "one final object, no copy per confirm"


def test_two_tickets_for_one_product_leave_one_image_and_no_orphan(store, api, staff, product):
    tickets = []
    for shade in (20, 220):
        body = jpeg(color=(shade, shade, shade))
        ticket = issue(api, product, body)
        assert store.post(ticket["upload"], body) in (200, 201, 204)
        tickets.append(ticket)

    results = confirm_concurrently(staff, [ticket["id"] for ticket in tickets])

    assert [status for status, _ in results] == [200, 200]
    product.refresh_from_db()
    attached = "media/" + product.image.name
    assert attached in {data["key"] for _, data in results}
    assert store.keys() == [attached]


@pytest.mark.parametrize("round_", range(3))
def test_a_burst_of_ticket_requests_gets_no_more_open_tickets_than_the_limit(
    settings, staff, product, round_
):
    """Each request counts the user's open tickets and inserts its own in
    one statement; without a lock per user, requests sent at once each
    counted the others' tickets as not yet there (8 at once with a limit of
    2 got 5 or 6)."""
    settings.UPLOADS = {**settings.UPLOADS, "MAX_OPEN_TICKETS": 2}
    body = jpeg()
    ask = lambda client: client.post(  # noqa: E731
        "/api/uploads/tickets/", ticket_request(product, body), format="json"
    )

    results = concurrently(staff, [ask] * 8)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 201] + [429] * 6, results
    assert UploadTicket.objects.filter(user=staff).count() == 2


@contextmanager
def cleared_uncommitted(product_pk, hold):
    """The admin's clear of a product's photo, made in a transaction of
    another thread and connection, and held open until ``hold()`` returns:
    the block runs once the clear is made, not yet committed; on leaving,
    it waits for the commit, and fails if the clear did."""
    from django.db import transaction

    from inventory.models import Product
    from uploads import services

    cleared, errors = threading.Event(), []

    def clear():
        try:
            with transaction.atomic():
                services.remove_file(Product.objects.get(pk=product_pk), kind="product")
                cleared.set()
                hold()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
            cleared.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=clear)
    thread.start()
    assert cleared.wait(timeout=30)
    try:
        yield
    finally:
        thread.join(60)
    assert not errors


def test_two_rows_sharing_an_image_cleared_at_once_leave_nothing_behind(store, product, site):
    """Two rows of a site naming one image (an earlier migration's copy),
    cleared by two admins at once: each clear, asking in its transaction
    whether another row names the image, saw the other's row as it was
    before (READ COMMITTED), and neither recorded it: the image, named by
    no row, stayed in the bucket for good. The delete asks once both have
    committed."""
    from django.db import transaction

    from inventory.models import Product
    from uploads import services
    from uploads.models import PendingDeletion

    name = f"sites/{site.pk}/products/shared.jpg"
    store.put(f"media/{name}", b"a photo two rows show")
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk__in=[product.pk, other.pk]).update(image=name)
    second_cleared = threading.Event()

    # The first clear commits once the second is done, or after a while if
    # that clear waits on its transaction.
    with cleared_uncommitted(product.pk, hold=lambda: second_cleared.wait(timeout=3)):
        with transaction.atomic():
            services.remove_file(Product.objects.get(pk=other.pk), kind="product")
        second_cleared.set()

    assert f"media/{name}" not in store.keys(), "no row names it"
    assert not PendingDeletion.objects.exists()


def test_a_record_made_again_while_the_worker_keeps_it_is_not_dropped(store, product, site):
    """The worker found a row naming a recorded image, a clear of that row
    not yet committed, and dropped the record; the clear's own record of the
    image, meeting the one there, changed nothing. Once the clear committed,
    no row and no record named the image, left in the store for good. The
    clear now marks the record (due at once), which the worker drops only
    as it read it: the clear's task then deletes the image."""
    from inventory.models import Product
    from uploads import deletions
    from uploads.models import PendingDeletion

    name = f"sites/{site.pk}/products/shared.jpg"
    key = f"media/{name}"
    store.put(key, b"a photo the other row shows")
    other = Product.objects.create(site_configuration=site, name="Other", cug="O")
    Product.objects.filter(pk=other.pk).update(image=name)
    # What a replace of the first row left: the image recorded, another
    # row still naming it.
    deletions.record({key: PendingDeletion.Reason.REPLACED})
    worker_started = threading.Event()

    def until_the_worker_dropped():
        worker_started.wait(timeout=10)
        time.sleep(0.5)  # the worker reads, finds the row, drops

    with cleared_uncommitted(other.pk, hold=until_the_worker_dropped):
        worker_started.set()
        report = deletions.delete_recorded([key])  # the first replace's task

    assert report.kept == [key], "the clear was not committed when it looked"
    assert key not in store.keys(), "no row names it: the clear's task deleted it"
    assert not PendingDeletion.objects.exists()
