"""uploads.uploader: the server uploads a file as a client does, in each
storage mode, with no server running for the emulator."""

import pytest

from tests.support.images import jpeg
from tests.support.modes import use_storages
from uploads.errors import TypeMismatch
from uploads.keys import media_key
from uploads.models import UploadTicket
from uploads.uploader import POST_ATTEMPTS, UploadRefused, upload


@pytest.mark.django_db(transaction=True)
def test_upload_goes_through_ticket_store_and_confirm(store, staff, product):
    body = jpeg((320, 240))

    confirmed = upload(
        staff,
        kind="product",
        object_id=product.pk,
        body=body,
        content_type="image/jpeg",
        filename="riz.jpg",
    )

    product.refresh_from_db()
    ticket = UploadTicket.objects.get()
    assert confirmed == ticket
    assert confirmed.final_key == media_key(product.image.name)
    assert (confirmed.format, confirmed.width, confirmed.height) == ("jpeg", 320, 240)
    assert store.keys() == [confirmed.final_key], "the incoming object is gone"
    assert store.read(confirmed.final_key) == body
    assert ticket.status == UploadTicket.Status.CONFIRMED
    assert ticket.filename == "riz.jpg"
    assert ticket.sha256, "the body is pinned as clients pin it"


@pytest.mark.django_db(transaction=True)
def test_confirm_still_inspects_what_the_server_sends(store, staff, product):
    with pytest.raises(TypeMismatch):
        upload(staff, kind="product", object_id=product.pk, body=jpeg(), content_type="image/png")

    product.refresh_from_db()
    assert not product.image
    assert store.keys() == []


def test_a_form_the_bucket_refuses_raises_with_its_answer(s3_bucket, staff, product, settings):
    settings.AWS_SECRET_ACCESS_KEY = "not-the-secret"

    with pytest.raises(UploadRefused) as refused:
        upload(staff, kind="product", object_id=product.pk, body=jpeg(), content_type="image/jpeg")

    assert refused.value.status == 403
    assert "SignatureDoesNotMatch" in refused.value.answer
    assert UploadTicket.objects.get().status == UploadTicket.Status.ISSUED


# What S3 and SeaweedFS answer when they ask for the request again.
INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error, please try again.</Message></Error>"
)


@pytest.fixture
def store_behind_proxy(proxy, s3_bucket, settings):
    settings.AWS_S3_ENDPOINT_URL = proxy.url
    use_storages(settings)
    return proxy


def posts(proxy):
    return [request for request in proxy.requests if request.method == "POST"]


@pytest.mark.django_db(transaction=True)
def test_a_form_the_store_asks_for_again_is_sent_again(store_behind_proxy, staff, product):
    """S3 answers 500 InternalError ("please try again") now and then: a
    command such as ``seed_demo`` should not fail on the first."""
    store_behind_proxy.answer(500, INTERNAL_ERROR, "POST", times=POST_ATTEMPTS - 1)

    confirmed = upload(
        staff, kind="product", object_id=product.pk, body=jpeg(), content_type="image/jpeg"
    )

    assert confirmed.status == UploadTicket.Status.CONFIRMED
    assert len(posts(store_behind_proxy)) == POST_ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_a_store_that_keeps_failing_refuses_the_form_after_the_last_try(
    store_behind_proxy, staff, product
):
    store_behind_proxy.answer(500, INTERNAL_ERROR, "POST")

    with pytest.raises(UploadRefused) as refused:
        upload(staff, kind="product", object_id=product.pk, body=jpeg(), content_type="image/jpeg")

    assert refused.value.status == 500
    assert "InternalError" in refused.value.answer
    assert len(posts(store_behind_proxy)) == POST_ATTEMPTS
    assert UploadTicket.objects.get().status == UploadTicket.Status.ISSUED
