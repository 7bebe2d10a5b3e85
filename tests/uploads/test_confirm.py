"""Confirm in both modes: inspect, copy to a final key, attach, clean up."""

import re
from datetime import timedelta

import pytest
import requests
from django.db import DatabaseError
from django.utils import timezone

from inventory.models import Product
from tests.support.images import jpeg, png, png_header_only, webp
from tests.support.tickets import confirm, issue, sha256_b64
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
    ticket = upload(store, api, product, jpeg())
    first = confirm(api, ticket).json()
    keys = store.keys()

    second = confirm(api, ticket)

    assert second.status_code == 200
    assert second.json() == first
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
    assert confirm(api, ticket).json() == data


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

    def failing_save(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Product, "save", failing_save)
    api.raise_request_exception = False
    response = confirm(api, ticket)
    monkeypatch.undo()

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
