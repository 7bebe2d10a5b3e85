"""Confirm against a real SeaweedFS behind a proxy that fails on demand
(``tests.faults``): whatever the store does, the client gets a clear JSON
error soon, nothing is attached, the old image stays, and the same ticket
confirms once the store is well."""

import time

import pytest
import requests

from inventory.models import Product
from tests.conftest import bucket_keys, use_storages
from tests.faults import FaultProxy
from tests.images import noisy
from tests.uploads.conftest import confirm, issue

# Short bounds, through the settings: a stalled call gives up after
# 2 tries x 0.5 s and botocore's pause between them (at most 1 s).
TIMEOUT = 0.5
STALLED_CALL = 2 * TIMEOUT + 1
INSPECT_BYTES = 64 * 1024


@pytest.fixture(autouse=True)
def committed(transactional_db):
    """Real commits: replaced objects are deleted by on-commit callbacks."""


@pytest.fixture
def proxy(seaweedfs):
    with FaultProxy(("127.0.0.1", seaweedfs.s3_port)) as proxy:
        yield proxy


@pytest.fixture
def store(proxy, s3_bucket, settings):
    """The app talks to the store through the proxy, with short bounds."""
    settings.AWS_S3_ENDPOINT_URL = proxy.url
    settings.AWS_S3_CONNECT_TIMEOUT = TIMEOUT
    settings.AWS_S3_READ_TIMEOUT = TIMEOUT
    settings.AWS_S3_MAX_ATTEMPTS = 2
    use_storages(settings)
    return proxy


def upload(api, product, body):
    ticket = issue(api, product, body, content_type="image/png")
    response = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("photo.png", body, "image/png")},
        timeout=10,
    )
    assert response.status_code in (200, 201, 204), response.text
    return ticket


@pytest.fixture
def old_image(store, api, product):
    """The product's image before the confirm that meets the fault."""
    body = noisy()
    response = confirm(api, upload(api, product, body))
    assert response.status_code == 200, response.json()
    return response.json()["key"], body


def is_copy(request):
    return "x-amz-copy-source" in request.headers


FAULTS = {
    "stalled HEAD": lambda proxy: proxy.stall("HEAD"),
    "stalled ranged GET": lambda proxy: proxy.stall("GET"),
    "GET stalled mid-answer": lambda proxy: proxy.stall("GET", after=4000),
    "stalled copy": lambda proxy: proxy.stall("PUT", match=is_copy),
    "GET cut mid-read": lambda proxy: proxy.cut("GET", after=4000),
    "store refusing connections": lambda proxy: proxy.refuse(),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_store_fault_answers_503_soon_and_the_ticket_confirms_later(
    store, api, product, old_image, s3_client, s3_bucket, fault
):
    old_key, old_body = old_image
    body = noisy()
    ticket = upload(api, product, body)
    incoming = ticket["upload"]["fields"]["key"]
    FAULTS[fault](store)

    started = time.monotonic()
    response = confirm(api, ticket)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    # The HEAD, and for a fault after it the GET or the copy, then the
    # clean-up of the copy's key: each at most one stalled call.
    assert elapsed < 3 * STALLED_CALL, elapsed
    product.refresh_from_db()
    assert "media/" + product.image.name == old_key, "nothing attached"
    assert bucket_keys(s3_client, s3_bucket) == sorted([old_key, incoming])
    assert s3_client.get_object(Bucket=s3_bucket, Key=old_key)["Body"].read() == old_body
    assert api.get(f"/api/uploads/tickets/{ticket['id']}/").json()["status"] == "issued"

    store.heal()
    again = confirm(api, ticket)

    assert again.status_code == 200, again.json()
    product.refresh_from_db()
    assert "media/" + product.image.name == again.json()["key"]
    assert bucket_keys(s3_client, s3_bucket) == [again.json()["key"]]


def test_an_upload_deleted_between_head_and_get_is_missing_and_can_be_sent_again(
    store, api, product, old_image, s3_client, s3_bucket
):
    old_key, _ = old_image
    body = noisy()
    ticket = upload(api, product, body)
    incoming = ticket["upload"]["fields"]["key"]
    store.before("GET", lambda: s3_client.delete_object(Bucket=s3_bucket, Key=incoming))

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


def test_a_slow_store_within_the_timeouts_still_confirms(store, api, product):
    ticket = upload(api, product, noisy())
    store.slow(TIMEOUT / 3)

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert Product.objects.get().image.name == response.json()["key"].removeprefix("media/")
