"""The emulator streams uploads to disk and leaves nothing behind when it
refuses one."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler

from tests.support.images import noisy
from tests.support.stores import LocalStore
from tests.support.tickets import issue


def never(*args, **kwargs):
    raise AssertionError("Django's buffering upload handlers must not be used")


def test_upload_is_streamed_by_the_policy_handler(local_media, api, product, monkeypatch):
    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", never)
    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", never)
    store = LocalStore(local_media)
    body = noisy("PNG", (1100, 1100))
    assert len(body) > 2.5 * 1024 * 1024  # above Django's in-memory threshold
    ticket = issue(api, product, body, content_type="image/png")

    assert store.post(ticket["upload"], body, file_type="image/png") == 204
    assert store.read(ticket["upload"]["fields"]["key"]) == body
    assert store.keys() == [ticket["upload"]["fields"]["key"]], "no temporary file left"


def test_oversized_upload_is_cut_off_and_cleaned_up(local_media, api, product):
    store = LocalStore(local_media)
    body = b"\xff\xd8\xff" + b"\x00" * 100
    ticket = issue(api, product, body)
    huge = b"\xff" * (11 * 1024 * 1024)  # more than any target accepts

    assert store.post(ticket["upload"], huge) == 400
    assert store.keys() == []
    assert not list(local_media.rglob(".upload-*"))


def test_a_second_file_field_is_refused(local_media, api, product):
    body = b"\xff\xd8\xff" + b"\x00" * 100
    ticket = issue(api, product, body)
    response = LocalStore(local_media).http.post(
        ticket["upload"]["url"],
        {
            **ticket["upload"]["fields"],
            "other": SimpleUploadedFile("a.jpg", body, "image/jpeg"),
            "file": SimpleUploadedFile("b.jpg", body, "image/jpeg"),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert b"InvalidArgument" in response.content
    assert LocalStore(local_media).keys() == []
