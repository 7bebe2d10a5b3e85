"""Confirm against a real SeaweedFS behind a proxy that fails on demand
(``tests.support.faults``): whatever the store does, the client gets a clear JSON
error soon, nothing is attached, the old image stays, and the same ticket
confirms once the store is well."""

import logging
import time

import pytest
import requests

from inventory.models import Product
from tests.support.faults import STORE_TIMEOUT
from tests.support.images import noisy
from tests.support.stores import bucket_keys
from tests.support.tickets import confirm, upload

# A stalled call gives up after 2 tries and botocore's pause between them
# (at most 1 s).
STALLED_CALL = 2 * STORE_TIMEOUT + 1
INSPECT_BYTES = 48 * 1024


@pytest.fixture(autouse=True)
def committed(transactional_db):
    """Real commits: replaced objects are deleted by on-commit callbacks."""


@pytest.fixture
def old_image(faulty_store, api, product):
    """The product's image before the confirm that meets the fault."""
    body = noisy()
    response = confirm(api, upload(api, product, body))
    assert response.status_code == 200, response.json()
    return response.json()["key"], body


def is_copy(request):
    return "x-amz-copy-source" in request.headers


FAULTS = {
    "stalled ranged GET": lambda proxy: proxy.stall("GET"),
    "GET stalled mid-answer": lambda proxy: proxy.stall("GET", after=4000),
    "stalled copy": lambda proxy: proxy.stall("PUT", match=is_copy),
    "GET cut mid-read": lambda proxy: proxy.cut("GET", after=4000),
    "store refusing connections": lambda proxy: proxy.refuse(),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_store_fault_answers_503_soon_and_the_ticket_confirms_later(
    faulty_store, api, product, old_image, s3_client, s3_bucket, fault
):
    old_key, old_body = old_image
    body = noisy()
    ticket = upload(api, product, body)
    incoming = ticket["upload"]["fields"]["key"]
    FAULTS[fault](faulty_store)

    started = time.monotonic()
    response = confirm(api, ticket)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    # The ranged GET, and for a fault after it the copy, then the clean-up
    # of the copy's key: each at most one stalled call.
    assert elapsed < 3 * STALLED_CALL, elapsed
    product.refresh_from_db()
    assert "media/" + product.image.name == old_key, "nothing attached"
    assert bucket_keys(s3_client, s3_bucket) == sorted([old_key, incoming])
    assert s3_client.get_object(Bucket=s3_bucket, Key=old_key)["Body"].read() == old_body
    assert api.get(f"/api/uploads/tickets/{ticket['id']}/").json()["status"] == "issued"

    faulty_store.heal()
    again = confirm(api, ticket)

    assert again.status_code == 200, again.json()
    product.refresh_from_db()
    assert "media/" + product.image.name == again.json()["key"]
    assert bucket_keys(s3_client, s3_bucket) == [again.json()["key"]]


def test_an_upload_deleted_before_confirm_reads_it_is_missing_and_can_be_sent_again(
    faulty_store, api, product, old_image, s3_client, s3_bucket
):
    old_key, _ = old_image
    body = noisy()
    ticket = upload(api, product, body)
    incoming = ticket["upload"]["fields"]["key"]
    faulty_store.before("GET", lambda: s3_client.delete_object(Bucket=s3_bucket, Key=incoming))

    response = confirm(api, ticket)

    assert response.status_code == 409
    assert response.json()["code"] == "upload_missing"
    assert "Retry-After" not in response
    product.refresh_from_db()
    assert "media/" + product.image.name == old_key
    assert bucket_keys(s3_client, s3_bucket) == [old_key]

    # The same ticket's form, posted again, then confirmed.
    requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("photo.png", body, "image/png")},
        timeout=10,
    ).raise_for_status()
    assert confirm(api, ticket).status_code == 200


def test_a_slow_store_within_the_timeouts_still_confirms(faulty_store, api, product):
    ticket = upload(api, product, noisy())
    faulty_store.slow(STORE_TIMEOUT / 3)

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert Product.objects.get().image.name == response.json()["key"].removeprefix("media/")


def test_a_slow_store_shows_in_the_confirms_log_line(faulty_store, api, product, caplog):
    """``store_ms``: how long a confirm waited on the store, so that an
    operator tells a slow store from a slow app."""
    caplog.set_level(logging.INFO, logger="uploads.events")
    ticket = upload(api, product, noisy())
    faulty_store.slow(STORE_TIMEOUT / 3)

    assert confirm(api, ticket).status_code == 200

    issued, confirmed = (r for r in caplog.records if r.name == "uploads.events")
    assert (issued.event, issued.store_ms) == ("ticket", None)  # signed, nothing asked
    assert confirmed.event == "confirm"
    # Its two calls, the ranged GET and the copy, each late by the delay.
    assert 2000 * STORE_TIMEOUT / 3 <= confirmed.store_ms <= confirmed.duration_ms
    assert f"store_ms={confirmed.store_ms}" in confirmed.getMessage()
