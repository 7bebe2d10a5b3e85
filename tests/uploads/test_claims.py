"""Confirm works on the store with no transaction open: it claims the ticket
first, for a while (the lease). Another confirm of the ticket waits for the
first one's answer; a confirm that died is taken over once its lease has
lapsed, and the copy it may have left is deleted."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.images import jpeg
from tests.support.tickets import confirm, issue
from uploads.backends import get_backend
from uploads.models import UploadTicket
from uploads.services import purge_expired


def upload(store, api, product, body):
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def died_after_copying(store, ticket, site, lease_left):
    """As a confirm leaves a ticket when its process dies after the copy:
    claimed, with a copy at the claim's key. Returns that key."""
    copy = f"media/sites/{site.pk}/products/{'d' * 32}.jpg"
    store.put(copy, store.read(ticket["upload"]["fields"]["key"]))
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        final_key=copy, claimed_until=timezone.now() + lease_left
    )
    return copy


@pytest.mark.django_db(transaction=True)
def test_a_confirm_that_died_is_taken_over_once_its_lease_lapsed(store, api, product, site):
    ticket = upload(store, api, product, jpeg())
    dead_copy = died_after_copying(store, ticket, site, lease_left=timedelta(seconds=-1))

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["key"] != dead_copy
    product.refresh_from_db()
    assert "media/" + product.image.name == data["key"]
    assert store.keys() == [data["key"]], "the dead confirm's copy is deleted"


def test_a_second_confirm_waits_for_the_first_then_asks_to_retry(
    store, api, product, site, settings
):
    """Within the lease, the claim's holder may still be at work on a slow
    store: a second confirm waits CONFIRM_WAIT seconds for its answer, then
    answers 503 with Retry-After; the ticket stays usable."""
    settings.UPLOADS = {**settings.UPLOADS, "CONFIRM_WAIT": 0.5}
    ticket = upload(store, api, product, jpeg())
    died_after_copying(store, ticket, site, lease_left=timedelta(minutes=1))

    started = time.monotonic()
    response = confirm(api, ticket)

    assert 0.5 <= time.monotonic() - started < 5
    assert (response.status_code, response.json()["code"]) == (503, "storage_unavailable")
    assert int(response["Retry-After"]) > 0
    assert api.get(f"/api/uploads/tickets/{ticket['id']}/").json()["status"] == "issued"


def test_purge_removes_the_copy_of_a_confirm_that_died(store, api, product, site):
    ticket = upload(store, api, product, jpeg())
    dead_copy = died_after_copying(store, ticket, site, lease_left=timedelta(seconds=-1))
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        expires_at=timezone.now() - timedelta(hours=2)
    )
    assert dead_copy in store.keys()

    report = purge_expired()

    assert (report.tickets_deleted, report.objects_deleted) == (1, 2)
    assert store.keys() == []


def test_purge_leaves_a_ticket_whose_confirm_is_at_work(store, api, product, site):
    ticket = upload(store, api, product, jpeg())
    died_after_copying(store, ticket, site, lease_left=timedelta(minutes=1))
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        expires_at=timezone.now() - timedelta(hours=2)
    )
    keys = store.keys()

    assert purge_expired().tickets_deleted == 0
    assert store.keys() == keys


@pytest.fixture
def stalled_store(monkeypatch):
    """Confirm's first read of the upload waits until ``go`` is set;
    ``waiting`` is set once one is waiting."""
    backend_class = type(get_backend())
    real_read_first = backend_class.read_first
    waiting, go = threading.Event(), threading.Event()

    def read_first(self, key, length):
        waiting.set()
        assert go.wait(30)
        return real_read_first(self, key, length)

    monkeypatch.setattr(backend_class, "read_first", read_first)
    yield waiting, go
    go.set()


@pytest.mark.django_db(transaction=True)
def test_a_confirm_waiting_on_the_store_holds_no_lock(
    store, api, staff, product, site, stalled_store
):
    """While a confirm waits on a slow store, the ticket's and the product's
    rows can be locked and written at once, and other tickets issued."""
    waiting, go = stalled_store
    ticket = issue(api, product, jpeg())
    assert store.post(ticket["upload"], jpeg()) in (200, 201, 204)
    other = Product.objects.create(site_configuration=site, name="Mil", cug="M-1")
    answers = []

    def confirm_in_a_thread():
        client = APIClient()
        client.force_authenticate(staff)
        try:
            answers.append(confirm(client, ticket).status_code)
        finally:
            connections.close_all()

    thread = threading.Thread(target=confirm_in_a_thread)
    thread.start()
    try:
        assert waiting.wait(10)
        started = time.monotonic()
        nowait = connection.features.has_select_for_update_nowait
        with transaction.atomic():
            UploadTicket.objects.select_for_update(nowait=nowait).get(pk=ticket["id"])
            Product.objects.select_for_update(nowait=nowait).filter(pk=product.pk).update(
                name="Riz parfumé"
            )
        issue(api, other, jpeg())
        assert time.monotonic() - started < 2
    finally:
        go.set()
        thread.join(30)

    assert answers == [200]
    product.refresh_from_db()
    assert (product.name, bool(product.image)) == ("Riz parfumé", True)
