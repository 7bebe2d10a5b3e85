"""Checks that trust nothing they need not: a ticket's row, an unsigned
form, a JPEG's metadata (issue 13, "Checks that trust too much")."""

import io
import os
import struct
import zlib
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import FakePayload, encode_multipart
from django.utils import timezone
from PIL import Image

from inventory.models import Product
from tests.support.images import jpeg, png, png_chunk
from tests.support.stores import LocalStore
from tests.support.tickets import confirm, issue
from uploads.backends.local import LocalUploadBackend
from uploads.backends.s3 import S3UploadBackend
from uploads.inspect import ImageInfo, inspect_image, jpeg_header
from uploads.models import PendingDeletion, UploadTicket
from uploads.services import purge_expired

# --- Confirm re-derives the incoming key ------------------------------------


def test_confirm_refuses_a_ticket_whose_row_names_another_sites_object(store, api, product, sites):
    other_body = jpeg((80, 60), color=(1, 2, 3))
    other = Product.objects.create(site_configuration=sites[1], name="Sel", cug="S-1")
    other_key = f"media/sites/{sites[1].pk}/products/{'b' * 32}.jpg"
    store.put(other_key, other_body)
    other.image.name = other_key.removeprefix("media/")
    other.save()
    ticket = issue(api, product, other_body)
    # The row altered after issue, as by SQL injection or a bad migration.
    UploadTicket.objects.filter(pk=ticket["id"]).update(incoming_key=other_key)

    response = confirm(api, ticket)

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "ticket_tampered"
    assert store.read(other_key) == other_body, "the other site's object is untouched"
    assert store.keys() == [other_key], "nothing was copied into site 1"
    product.refresh_from_db()
    assert not product.image
    row = UploadTicket.objects.get(pk=ticket["id"])
    assert (row.status, row.error_code) == (UploadTicket.Status.REJECTED, "ticket_tampered")
    # Rejected for good: confirming again gives the same answer.
    assert confirm(api, ticket).json()["code"] == "ticket_tampered"
    assert store.read(other_key) == other_body


@pytest.mark.django_db(transaction=True)
def test_a_row_altered_while_confirm_copies_does_not_get_another_sites_object_deleted(
    store, api, product, sites, monkeypatch
):
    other_key = f"media/sites/{sites[1].pk}/products/{'d' * 32}.jpg"
    store.put(other_key, jpeg())
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) == 204

    def tampering(original):
        def copy(self, *args, **kwargs):
            original(self, *args, **kwargs)
            UploadTicket.objects.filter(pk=ticket["id"]).update(incoming_key=other_key)

        return copy

    for backend in (LocalUploadBackend, S3UploadBackend):
        monkeypatch.setattr(backend, "copy", tampering(backend.copy))

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert sorted(store.keys()) == sorted([other_key, response.json()["key"]])


def test_confirm_still_attaches_an_untampered_ticket(store, api, product):
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) == 204

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()


# --- Confirm and read only a row that issue and confirm could have written --

# Columns altered after issue, to what no ticket is issued or confirmed with.
UNSOUND_ROWS = {
    "a kind no target declares": {"kind": "gallery"},
    "a content type no target takes": {"content_type": "text/html"},
    "a rejection of no known code": {"status": "rejected", "error_code": "bad_luck"},
}


@pytest.mark.parametrize("change", UNSOUND_ROWS.values(), ids=list(UNSOUND_ROWS))
def test_a_ticket_whose_row_holds_what_no_ticket_is_issued_with_is_refused_in_json(
    local_media, api, product, change
):
    body = jpeg()
    ticket = issue(api, product, body)
    assert LocalStore(local_media).post(ticket["upload"], body) == 204
    UploadTicket.objects.filter(pk=ticket["id"]).update(**change)

    for response in (api.get(f"/api/uploads/tickets/{ticket['id']}/"), confirm(api, ticket)):
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "ticket_tampered"
    product.refresh_from_db()
    assert not product.image


def test_a_ticket_whose_row_holds_a_status_never_stored_is_refused_at_once(
    local_media, api, product
):
    """``expired`` is how an issued ticket past its expiry reads: a row
    holding it was one confirm never claimed, and so tried again, and
    again, for as long as the request lived."""
    body = jpeg()
    ticket = issue(api, product, body)
    assert LocalStore(local_media).post(ticket["upload"], body) == 204
    UploadTicket.objects.filter(pk=ticket["id"]).update(status="expired")

    response = confirm(api, ticket)

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "ticket_tampered"
    product.refresh_from_db()
    assert not product.image


def test_a_confirmed_ticket_whose_row_names_another_sites_image_gives_no_url_to_it(
    store, api, product, sites
):
    other_key = f"media/sites/{sites[1].pk}/products/{'c' * 32}.jpg"
    store.put(other_key, jpeg((80, 60), color=(1, 2, 3)))
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) == 204
    assert confirm(api, ticket).status_code == 200
    # The confirmed row altered, as by SQL injection or a bad migration.
    UploadTicket.objects.filter(pk=ticket["id"]).update(final_key=other_key)

    for response in (api.get(f"/api/uploads/tickets/{ticket['id']}/"), confirm(api, ticket)):
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "ticket_tampered"
        assert other_key.removeprefix("media/") not in response.content.decode()


# --- The emulator refuses an unsigned form before reading its file ----------

BOUNDARY = "trust-boundary"


def emulator_body(fields, body):
    """A multipart body, fields in the order given (the file where it is)."""
    return encode_multipart(
        BOUNDARY,
        {
            name: SimpleUploadedFile("photo.jpg", value, "image/jpeg")
            if isinstance(value, bytes)
            else value
            for name, value in fields.items()
        }
        | ({"file": SimpleUploadedFile("photo.jpg", body, "image/jpeg")} if body else {}),
    )


@pytest.fixture
def bytes_read(monkeypatch):
    """Counts the request body bytes the view reads."""
    counter = {"read": 0}
    read = FakePayload.read

    def counting(self, size=-1):
        data = read(self, size)
        counter["read"] += len(data)
        return data

    monkeypatch.setattr(FakePayload, "read", counting)
    return counter


def test_emulator_refuses_a_bad_signature_before_reading_a_large_body(
    local_media, api, product, bytes_read
):
    ticket = issue(api, product, jpeg())
    fields = dict(ticket["upload"]["fields"], **{"x-amz-signature": "0" * 64})
    payload = emulator_body(fields, b"\xff" * (10 * 1024 * 1024))

    response = Client().post(
        ticket["upload"]["url"], payload, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content
    assert bytes_read["read"] < 256 * 1024, "the 10 MiB file was read"
    assert [path for path in local_media.rglob("*") if path.is_file()] == []


def test_emulator_refuses_a_signed_form_for_a_smaller_file_as_soon_as_it_is_exceeded(
    local_media, api, product, bytes_read
):
    ticket = issue(api, product, jpeg())
    payload = emulator_body(ticket["upload"]["fields"], b"\xff" * (10 * 1024 * 1024))

    response = Client().post(
        ticket["upload"]["url"], payload, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    assert response.status_code == 400
    assert b"<Code>EntityTooLarge</Code>" in response.content
    assert bytes_read["read"] < 256 * 1024, "the file was read past its policy's size"
    assert [path for path in local_media.rglob("*") if path.is_file()] == []


def test_emulator_ignores_signed_fields_that_come_after_the_file(local_media, api, product):
    body = jpeg()
    ticket = issue(api, product, body)
    payload = emulator_body({"file": body, **ticket["upload"]["fields"]}, None)

    response = Client().post(
        ticket["upload"]["url"], payload, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    assert response.status_code == 403
    assert [path for path in local_media.rglob("*") if path.is_file()] == []


# --- JPEGs with large metadata: followed, with bounded reads ----------------


def jpeg_with_metadata(segments, size=(320, 200)):
    """A JPEG with ``segments`` [(marker, payload length)] of metadata right
    after its start-of-image, pushing the frame header back. The payloads
    hold no 0xFF byte, so no marker can be found in them but by length."""
    image = jpeg(size)
    metadata = b"".join(
        bytes([0xFF, marker])
        + struct.pack(">H", length + 2)
        + os.urandom(length).replace(b"\xff", b"\x00")
        for marker, length in segments
    )
    return image[:2] + metadata + image[2:]


@pytest.fixture
def reads(monkeypatch):
    """The byte counts of every read of an object through either backend."""
    counts = []

    def counting(original):
        def read(self, key, etag, length=None, start=0):
            data = original(self, key, etag, length, start)
            counts.append(len(data))
            return data

        return read

    def counting_first(original):
        def read_first(self, key, length):
            info, data = original(self, key, length)
            counts.append(len(data))
            return info, data

        return read_first

    for backend in (LocalUploadBackend, S3UploadBackend):
        monkeypatch.setattr(backend, "read", counting(backend.read))
        # The S3 backend's first read is its own request; the default one
        # goes through ``read``.
        if "read_first" in vars(backend):
            monkeypatch.setattr(backend, "read_first", counting_first(backend.read_first))
    return counts


def upload_and_confirm(store, api, product, body, content_type="image/jpeg"):
    ticket = issue(api, product, body, content_type=content_type)
    assert store.post(ticket["upload"], body, file_type=content_type) == 204
    return confirm(api, ticket)


def test_a_jpeg_with_200_kb_of_exif_xmp_and_icc_before_its_frame_is_accepted(
    store, api, product, reads
):
    body = jpeg_with_metadata([(0xE1, 65_000), (0xE1, 60_000), (0xE2, 50_000), (0xE2, 30_000)])
    assert body.index(b"\xff\xc0") > 200_000  # the frame header (SOF0)

    response = upload_and_confirm(store, api, product, body)

    assert response.status_code == 200, response.json()
    assert (response.json()["width"], response.json()["height"]) == (320, 200)
    assert sum(reads) <= WORST_CASE_BYTES
    assert sum(reads) < len(body) / 2, "the metadata was skipped, not read"


# What jpeg_header's docstring states: the first INSPECT_BYTES, then at most
# 24 ranged reads of 8 KiB.
WORST_CASE_BYTES = 48 * 1024 + 24 * 8 * 1024


def test_inspecting_a_jpeg_reads_at_most_240_kib_however_much_metadata_it_has(
    store, api, product, reads
):
    # 40 metadata segments of 64 KiB: each one skipped costs a ranged read.
    body = jpeg_with_metadata([(0xE1, 65_533)] * 40)

    response = upload_and_confirm(store, api, product, body)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_image"
    assert sum(reads) == WORST_CASE_BYTES
    assert len(reads) == 25


def png_with_chunks(chunks, size=(320, 200)):
    """A PNG with ``chunks`` (``[(kind, data)]``) between its IHDR and its
    image data, as editors put their metadata there."""
    image = png(size)
    end_of_header = 8 + 25  # signature, IHDR
    return image[:end_of_header] + b"".join(png_chunk(*c) for c in chunks) + image[end_of_header:]


def xmp(length):
    """An uncompressed iTXt chunk of XMP: an editor's document history may
    make it hundreds of KB."""
    return b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + b"<x/>" * (length // 4)


def test_a_png_with_300_kb_of_xmp_and_exif_before_its_image_data_is_accepted(
    store, api, product, reads
):
    body = png_with_chunks([xmp(250_000), (b"eXIf", os.urandom(50_000)), (b"tEXt", b"a\0b")])
    with Image.open(io.BytesIO(body)) as whole:
        whole.load()  # a valid PNG, Pillow reads it whole

    response = upload_and_confirm(store, api, product, body, "image/png")

    assert response.status_code == 200, response.json()
    assert (response.json()["width"], response.json()["height"]) == (320, 200)
    assert sum(reads) <= WORST_CASE_BYTES
    assert sum(reads) < len(body) / 2, "the metadata was skipped, not read"


def test_a_png_decompression_bomb_past_the_first_bytes_is_still_read_and_refused(
    store, api, product, reads
):
    bomb = (b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * 60_000_000, 9))
    body = png_with_chunks([xmp(60_000), bomb])

    response = upload_and_confirm(store, api, product, body, "image/png")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_image"
    assert sum(reads) <= WORST_CASE_BYTES


def test_inspecting_a_png_reads_at_most_240_kib_however_many_chunks_it_has(
    store, api, product, reads
):
    body = png_with_chunks([xmp(65_000)] * 40)

    response = upload_and_confirm(store, api, product, body, "image/png")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_image"
    assert sum(reads) <= WORST_CASE_BYTES
    assert len(reads) == 25


# --- Filesystem mode is not for production ----------------------------------


def deploy_check_ids():
    return {message.id for message in run_checks(include_deployment_checks=True)}


def test_deploy_check_warns_that_filesystem_mode_is_not_for_production(settings):
    settings.DEBUG = False
    settings.AWS_STORAGE_BUCKET_NAME = ""

    assert "uploads.W001" in deploy_check_ids()


def test_deploy_check_is_quiet_with_a_bucket_or_in_development(settings):
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.DEBUG = True
    assert "uploads.W001" not in deploy_check_ids()

    settings.DEBUG = False
    settings.AWS_STORAGE_BUCKET_NAME = "media"
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "key"
    assert "uploads.W001" not in deploy_check_ids()


def test_purge_leaves_alone_the_object_a_tampered_expired_ticket_names(store, api, product, sites):
    other_key = f"media/sites/{sites[1].pk}/products/{'c' * 32}.jpg"
    store.put(other_key, jpeg())
    ticket = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        incoming_key=other_key, expires_at=timezone.now() - timedelta(days=1)
    )

    purge_expired()

    assert store.keys() == [other_key]
    assert not UploadTicket.objects.filter(pk=ticket["id"]).exists()


def test_purge_leaves_alone_another_sites_object_named_as_a_tampered_tickets_copy(
    store, api, product, sites
):
    other_key = f"media/sites/{sites[1].pk}/products/{'e' * 32}.jpg"
    store.put(other_key, jpeg())
    ticket = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        final_key=other_key, expires_at=timezone.now() - timedelta(days=1)
    )

    purge_expired()

    assert store.keys() == [other_key]
    assert not PendingDeletion.objects.filter(key=other_key).exists()


def test_a_tampered_ticket_of_an_unknown_content_type_does_not_stop_the_purge(
    store, api, product, sites
):
    """Its copy is left alone, and the purge goes on to the next ticket."""
    other_key = f"media/sites/{sites[1].pk}/products/{'e' * 32}.jpg"
    store.put(other_key, jpeg())
    # The purge reads the newest first: the tampered ticket, then the other.
    expired = issue(api, product, jpeg())
    tampered = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=tampered["id"]).update(
        final_key=other_key, content_type="text/html"
    )
    UploadTicket.objects.filter(pk__in=[tampered["id"], expired["id"]]).update(
        expires_at=timezone.now() - timedelta(days=1)
    )

    purge_expired()

    assert store.keys() == [other_key]
    assert not UploadTicket.objects.filter(pk=expired["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_confirm_taking_over_a_tampered_lapsed_claim_leaves_another_sites_object_alone(
    store, api, product, sites
):
    other_key = f"media/sites/{sites[1].pk}/products/{'f' * 32}.jpg"
    store.put(other_key, jpeg())
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) == 204
    # A lapsed claim whose copy the row says is another site's object.
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        final_key=other_key, claimed_until=timezone.now() - timedelta(seconds=1)
    )

    response = confirm(api, ticket)

    assert response.status_code == 200, response.json()
    assert not PendingDeletion.objects.filter(key=other_key).exists()
    assert store.read(other_key)


def test_junk_and_fill_bytes_between_jpeg_segments_are_skipped_as_pillow_skips_them():
    image = jpeg((320, 200))
    junk = b"\x00\x13\xff\x00\xff\xff"
    body = image[:2] + b"\xff\xe1\xff\xff" + b"\x00" * 65_533 + junk + image[2:]
    with Image.open(io.BytesIO(body)) as whole:
        assert whole.size == (320, 200)  # Pillow reads it whole
    header = jpeg_header(body[:1024], lambda start, length: body[start : start + length], len(body))

    assert inspect_image(
        header, "image/jpeg", size=len(body), max_pixels=10**6, max_side=1000
    ) == ImageInfo("JPEG", 320, 200)
