"""Concurrent confirms, on PostgreSQL's real row locks (CI runs the suite
on PostgreSQL; SQLite has no row locks to test)."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from tests.support.images import jpeg
from tests.support.tickets import issue, unsigned

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-lock races need PostgreSQL (DATABASE_URL)"
    ),
    # The threads' connections see only what is committed.
    pytest.mark.django_db(transaction=True),
]


def confirm_concurrently(user, ticket_ids):
    """Confirm each ticket id from its own thread, all released at once."""
    barrier = threading.Barrier(len(ticket_ids))
    results = [None] * len(ticket_ids)

    def worker(index, ticket_id):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=10)
            response = client.post(f"/api/uploads/tickets/{ticket_id}/confirm/")
            results[index] = (response.status_code, response.json())
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(i, ticket_id))
        for i, ticket_id in enumerate(ticket_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


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
