"""Review of confirm's one-statement attachment (uploads.attachment):
which confirms it attaches at once, and what a confirm that lost its claim
answers, on PostgreSQL."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.models import Product
from tests.support.images import jpeg
from tests.support.tickets import confirm, issue
from uploads import attachment
from uploads.models import UploadTicket

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("store", ["local"], indirect=True),
]


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


@pytest.fixture
def root(make_user, site):
    user = make_user("root", site, is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


def uploaded(store, api, product, shade, **overrides):
    body = jpeg(color=(shade, 2, 3))
    ticket = issue(api, product, body, **overrides)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    return ticket


def test_a_logo_attaches_in_one_statement(store, root, site, statement):
    first = confirm(root, uploaded(store, root, site, 10, kind="logo")).json()
    response = confirm(root, uploaded(store, root, site, 200, kind="logo"))

    assert response.status_code == 200, response.json()
    assert statement == [(True, True), (True, True)]
    site.refresh_from_db()
    assert "media/" + site.logo.name == response.json()["key"]
    assert first["key"] not in store.keys()


def test_a_product_of_no_site_attaches_in_one_statement(store, root, statement):
    # A legacy product (no site): its ticket's site_id is NULL, and
    # "site_configuration_id = NULL" is never true, so the statement never
    # attaches it; every confirm then pays the statement and the fallback
    # transaction (9 + 1 queries, not 5).
    product = Product.objects.create(site_configuration=None, name="Ancien", cug="A-1")
    first = confirm(root, uploaded(store, root, product, 10)).json()
    response = confirm(root, uploaded(store, root, product, 200))

    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert "media/" + product.image.name == response.json()["key"]
    assert first["key"] not in store.keys()
    assert statement == [(True, True), (True, True)], "attached in the one statement"


@pytest.mark.parametrize("one_statement", [True, False], ids=["one-statement", "transaction"])
def test_a_lost_claim_answers_as_the_confirm_that_took_it_over(
    store, api, product, monkeypatch, one_statement
):
    """This confirm's claim lapsed and another confirm took it over; that
    one is attaching (its transaction holds the ticket's row) when this one
    attaches. This one answers as the other did: it waits for the ticket's
    row, as ``relock`` does, rather than answering 'in progress' from a row
    read while the other is still committing."""
    if not one_statement:
        monkeypatch.setattr(attachment, "supported", lambda target: False)
    ticket = uploaded(store, api, product, 200)
    table = connection.ops.quote_name(UploadTicket._meta.db_table)
    taken_over = f"media/sites/{product.site_configuration_id}/products/taken-over.jpg"
    confirming = f"UPDATE {table} SET {connection.ops.quote_name('status')}"
    pending, threads, errors = [True], [], []

    def other_confirm(ready):
        # The other confirm: it attaches (the ticket's row locked), and
        # commits a moment later.
        try:
            other = connection.Database.connect(**connection.get_connection_params())
            try:
                with other.cursor() as cursor:
                    # It took the lapsed claim over (committed) ...
                    cursor.execute(
                        f"UPDATE {table} SET final_key = %s WHERE id = %s",
                        [taken_over, ticket["id"]],
                    )
                    other.commit()
                    # ... and is attaching now.
                    cursor.execute(
                        f"UPDATE {table} SET status = %s, claimed_until = NULL,"
                        " format = 'jpeg', width = 1, height = 1, confirmed_at = now()"
                        " WHERE id = %s",
                        [UploadTicket.Status.CONFIRMED.value, ticket["id"]],
                    )
                ready.set()
                threading.Event().wait(0.5)
                other.commit()
            finally:
                other.close()
        except Exception as error:
            errors.append(error)
            ready.set()

    def wrapper(execute, sql, params, many, context):
        if pending and confirming in sql:
            pending.pop()
            ready = threading.Event()
            threads.append(threading.Thread(target=other_confirm, args=(ready,)))
            threads[-1].start()
            ready.wait(10)
        return execute(sql, params, many, context)

    api.raise_request_exception = False
    with connection.execute_wrapper(wrapper):
        response = confirm(api, ticket)
    for thread in threads:
        thread.join(10)
    assert not errors, errors

    row = UploadTicket.objects.get(pk=ticket["id"])
    assert row.status == UploadTicket.Status.CONFIRMED
    assert response.status_code == 200, response.json()
    assert response.json()["key"] == taken_over
