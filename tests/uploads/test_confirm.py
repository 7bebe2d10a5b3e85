"""Confirm in both modes: inspect, copy to a final key, attach, clean up."""

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import botocore.auth
import pytest
import requests
from django.db import DatabaseError
from django.utils import timezone

from inventory.models import Product
from tests.support.faults import failing_updates_of
from tests.support.images import jpeg, png, png_header_only, webp
from tests.support.stores import S3Store
from tests.support.tickets import confirm, issue, sha256_b64, unsigned
from uploads.models import UploadTicket

FINAL = r"media/sites/{site}/products/[0-9a-f]{{32}}\.{ext}"


def upload(store, api, product, body, **overrides):
    ticket = issue(api, product, body, **overrides)
    assert store.post(
        ticket["upload"], body, file_type=overrides.get("content_type", "image/jpeg")
    ) in (200, 201, 204)
    return ticket


def served(store, url):
    if store.mode == "s3":
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        return response.content
    assert url.startswith("http://testserver/media/")
    return store.read("media/" + url.removeprefix("http://testserver/media/"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "make, content_type, fmt, ext",
    [
        (jpeg, "image/jpeg", "jpeg", "jpg"),
        (png, "image/png", "png", "png"),
        (webp, "image/webp", "webp", "webp"),
    ],
)
def test_confirm_attaches_the_inspected_image(
    store, api, product, site, make, content_type, fmt, ext
):
    body = make((320, 200))
    ticket = upload(store, api, product, body, content_type=content_type, sha256=sha256_b64(body))

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["id"] == ticket["id"]
    assert data["status"] == "confirmed"
    assert (data["kind"], data["object_id"]) == ("product", product.pk)
    assert (data["format"], data["width"], data["height"], data["size"]) == (
        fmt,
        320,
        200,
        len(body),
    )
    assert re.fullmatch(FINAL.format(site=site.pk, ext=ext), data["key"])

    product.refresh_from_db()
    assert "media/" + product.image.name == data["key"]
    assert store.keys() == [data["key"]], "the incoming object is gone"
    assert store.read(data["key"]) == body
    assert served(store, data["url"]) == body
    with product.image.open() as handle:
        assert handle.read() == body


def test_confirming_again_returns_the_same_body_and_changes_nothing(store, api, product):
    body = jpeg()
    ticket = upload(store, api, product, body)
    first = confirm(api, ticket).json()
    keys = store.keys()

    second = confirm(api, ticket)

    assert second.status_code == 200
    assert unsigned(second.json()) == unsigned(first)
    assert served(store, second.json()["url"]) == body
    assert store.keys() == keys
    assert UploadTicket.objects.get().status == "confirmed"


def test_confirm_before_upload_keeps_the_ticket_usable(store, api, product):
    body = jpeg()
    ticket = issue(api, product, body)

    early = confirm(api, ticket)
    assert early.status_code == 409
    assert early.json()["code"] == "upload_missing"
    assert api.get(f"/api/uploads/tickets/{ticket['id']}/").json()["status"] == "issued"

    assert store.post(ticket["upload"], body) in (200, 201, 204)
    assert confirm(api, ticket).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "body, declared, code",
    [
        (b"this is a text file, renamed photo.jpg", "image/jpeg", "invalid_image"),
        (png(), "image/jpeg", "type_mismatch"),
        (jpeg(), "image/webp", "type_mismatch"),
        (
            b"\xff\xd8\xff\xe0" + b"\x00" * 200,
            "image/jpeg",
            "invalid_image",
        ),  # JPEG magic, no image
        (png_header_only(50_000, 50_000), "image/png", "image_too_large"),
        (png_header_only(13_000, 10), "image/png", "image_too_large"),
    ],
)
def test_bad_images_are_rejected_and_deleted(store, api, product, body, declared, code):
    ticket = upload(store, api, product, body, content_type=declared)

    response = confirm(api, ticket)

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert store.keys() == []
    product.refresh_from_db()
    assert not product.image
    status = api.get(f"/api/uploads/tickets/{ticket['id']}/").json()
    assert (status["status"], status["code"]) == ("rejected", code)
    # A rejected ticket stays rejected.
    again = confirm(api, ticket)
    assert (again.status_code, again.json()["code"]) == (422, code)


@pytest.mark.django_db(transaction=True)
def test_size_is_checked_against_the_declaration(store, api, product):
    """A store that ignored content-length-range would let a different size
    through; confirm refuses it."""
    body = jpeg()
    ticket = issue(api, product, body)
    store.put(ticket["upload"]["fields"]["key"], body + b"\x00" * 10)

    response = confirm(api, ticket)

    assert (response.status_code, response.json()["code"]) == (422, "size_mismatch")
    assert store.keys() == []


@pytest.mark.parametrize("damaged", [False, True])
def test_full_decode_reads_past_the_first_bytes(store, api, product, settings, damaged):
    """With ``FULL_DECODE``, the bytes after the first read are read and
    decoded too: damage past the header is caught."""
    settings.UPLOADS = {**settings.UPLOADS, "FULL_DECODE": True, "INSPECT_BYTES": 1024}
    body = jpeg((400, 300))
    if damaged:
        body = body[:2000] + b"\x00" * (len(body) - 2000)

    response = confirm(api, upload(store, api, product, body))

    if damaged:
        assert (response.status_code, response.json()["code"]) == (422, "invalid_image")
    else:
        assert response.status_code == 200, response.json()


def test_reposting_after_confirm_cannot_change_the_product(store, api, product):
    original = jpeg(color=(10, 10, 10))
    ticket = upload(store, api, product, original)
    data = confirm(api, ticket).json()

    # Same size (the policy pins it), different bytes: no checksum was pinned.
    replacement = original[:100] + bytes([original[100] ^ 0xFF]) + original[101:]
    assert store.post(ticket["upload"], replacement) in (200, 201, 204)

    product.refresh_from_db()
    with product.image.open() as handle:
        assert handle.read() == original
    assert served(store, data["url"]) == original
    assert unsigned(confirm(api, ticket).json()) == unsigned(data)


@pytest.mark.django_db(transaction=True)
def test_replacing_deletes_the_old_object_after_commit(store, api, product):
    first = confirm(api, upload(store, api, product, jpeg(color=(1, 2, 3)))).json()
    second = confirm(api, upload(store, api, product, jpeg(color=(200, 2, 3)))).json()

    product.refresh_from_db()
    assert "media/" + product.image.name == second["key"]
    assert store.keys() == [second["key"]]
    assert first["key"] != second["key"]


@pytest.mark.django_db(transaction=True)
def test_failed_database_write_keeps_the_old_image(store, api, product, monkeypatch):
    first = confirm(api, upload(store, api, product, jpeg(color=(1, 2, 3)))).json()
    ticket = upload(store, api, product, jpeg(color=(200, 2, 3)))

    api.raise_request_exception = False
    with failing_updates_of(Product, DatabaseError("disk full")):
        response = confirm(api, ticket)

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    product.refresh_from_db()
    assert "media/" + product.image.name == first["key"]
    assert store.read(first["key"])
    # Only the old image and the still-unconfirmed upload remain.
    assert store.keys() == sorted([first["key"], ticket["upload"]["fields"]["key"]])
    assert UploadTicket.objects.get(pk=ticket["id"]).status == "issued"
    # The ticket is still usable.
    assert confirm(api, ticket).status_code == 200


def test_expired_ticket_cannot_be_confirmed(store, api, product):
    body = jpeg()
    ticket = upload(store, api, product, body)
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )

    response = confirm(api, ticket)

    assert (response.status_code, response.json()["code"]) == (410, "ticket_expired")
    assert api.get(f"/api/uploads/tickets/{ticket['id']}/").json()["status"] == "expired"


def test_upload_that_finished_just_after_expiry_is_still_accepted(store, api, product):
    """S3 checks the policy when an upload starts; a slow upload may end
    after expiry and is confirmed within the grace period."""
    ticket = upload(store, api, product, jpeg())
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=30)
    )

    assert confirm(api, ticket).status_code == 200


@pytest.fixture
def signing_clock(monkeypatch):
    """The clock presigned GET URLs are signed by (their ``X-Amz-Date``),
    and that alone: the app's own calls keep the store's time, which the
    store checks. ``signing_clock.offset`` moves it."""
    clock = SimpleNamespace(offset=timedelta(0))
    now = botocore.auth.get_current_datetime
    sign = botocore.auth.S3SigV4QueryAuth.add_auth

    def add_auth(self, request):
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda: now() + clock.offset):
            sign(self, request)

    monkeypatch.setattr(botocore.auth.S3SigV4QueryAuth, "add_auth", add_auth)
    return clock


def signed_at(url):
    """When a presigned URL was signed."""
    (stamp,) = parse_qs(urlsplit(url).query)["X-Amz-Date"]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def test_a_confirmed_ticket_is_served_with_a_url_signed_at_request_time(
    s3_bucket, s3_client, api, product, settings, signing_clock
):
    """The answer's presigned URL expires (AWS_QUERYSTRING_EXPIRE): confirm
    again, or read the ticket, after that, and the URL given works."""
    store = S3Store(s3_client, s3_bucket)
    body = jpeg()
    ticket = upload(store, api, product, body)
    signing_clock.offset = -timedelta(seconds=settings.AWS_QUERYSTRING_EXPIRE + 60)
    first = confirm(api, ticket).json()
    assert requests.get(first["url"], timeout=10).status_code == 403, "expired since"

    signing_clock.offset = timedelta(0)
    later = timezone.now().replace(microsecond=0)
    again = confirm(api, ticket).json()
    detail = api.get(f"/api/uploads/tickets/{ticket['id']}/").json()

    assert unsigned(again) == unsigned(first)
    assert {key: detail[key] for key in first} == {**first, "url": detail["url"]}
    for url in (again["url"], detail["url"]):
        assert signed_at(url) >= later
        assert served(store, url) == body


def test_the_ticket_row_holds_what_was_decided_and_no_url(store, api, product):
    ticket = upload(store, api, product, png((64, 48)), content_type="image/png")
    answer = confirm(api, ticket).json()

    row = UploadTicket.objects.values().get(pk=ticket["id"])

    path = urlsplit(answer["url"]).path  # /media/... or /<bucket>/media/...
    stored = [str(value) for value in row.values()]
    assert not [value for value in stored if "://" in value or path in value], stored
    assert (row["final_key"], row["format"], row["width"], row["height"]) == (
        answer["key"],
        "png",
        64,
        48,
    )
