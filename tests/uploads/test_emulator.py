"""The emulator streams uploads to disk and leaves nothing behind when it
refuses one."""

from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client
from django.test.client import encode_multipart
from rest_framework.test import APIClient

from tests.support.images import jpeg, noisy
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


def post_form(upload, form):
    """``form``'s fields posted in their order, the file where it is."""
    return APIClient().post(upload["url"], form, format="multipart")


@pytest.mark.parametrize(
    "after",
    [
        pytest.param({"x-ignore-note": "x" * 2048}, id="a field over DATA_UPLOAD_MAX_MEMORY_SIZE"),
        pytest.param(
            {f"x-ignore-{n}": "x" for n in range(20)}, id="over DATA_UPLOAD_MAX_NUMBER_FIELDS"
        ),
    ],
)
def test_a_part_after_the_file_that_cannot_be_read_is_a_malformed_body(
    local_media, api, product, settings, after
):
    """The parser closes the files it holds when a later part fails: the
    emulator's received file could not be closed, a 500."""
    body = jpeg()
    ticket = issue(api, product, body)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = len(ticket["upload"]["fields"]) + 5
    form = {
        **ticket["upload"]["fields"],
        "file": SimpleUploadedFile("photo.jpg", body, "image/jpeg"),
        **after,
    }

    response = post_form(ticket["upload"], form)

    assert response.status_code == 400
    assert b"<Code>MalformedPOSTRequest</Code>" in response.content
    assert LocalStore(local_media).keys() == []
    assert not list(local_media.rglob(".upload-*"))


@pytest.mark.parametrize("charset", ["zlib_codec", "rot13", "utf-16"])
def test_the_charset_of_the_request_is_not_the_forms(local_media, api, product, charset):
    """A charset that is not a text encoding was a 500 (Django decoded the
    fields with it); the fields are UTF-8, whatever the request says."""
    body = jpeg()
    ticket = issue(api, product, body)
    form = {**ticket["upload"]["fields"], "file": SimpleUploadedFile("p.jpg", body, "image/jpeg")}

    response = Client().generic(
        "POST",
        ticket["upload"]["url"],
        encode_multipart("b0undary", form),
        content_type=f"multipart/form-data; boundary=b0undary; charset={charset}",
    )

    assert response.status_code == 204
    assert LocalStore(local_media).read(ticket["upload"]["fields"]["key"]) == body


@pytest.mark.parametrize(
    "name, value",
    [
        ("KEY", "media/sites/1/products/x.jpg"),
        ("content-type", "text/html"),
        ("X-Amz-Signature", "0" * 64),
    ],
)
def test_a_field_repeated_in_another_case_is_refused(local_media, api, product, name, value):
    """Names are read without case: a field given first in another case
    was overridden by the signed one that followed, and the form passed
    with a repeated field."""
    body = jpeg()
    ticket = issue(api, product, body)
    form = {
        name: value,
        **ticket["upload"]["fields"],
        "file": SimpleUploadedFile("photo.jpg", body, "image/jpeg"),
    }

    response = post_form(ticket["upload"], form)

    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in response.content
    assert LocalStore(local_media).keys() == []


def test_a_chunked_body_is_asked_for_its_length(local_media, live_server, settings, api, product):
    """Without Content-Length Django reads no body: the answer was that no
    file came."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    body = jpeg()
    ticket = issue(api, product, body)
    form = {**ticket["upload"]["fields"], "file": SimpleUploadedFile("p.jpg", body, "image/jpeg")}
    payload = encode_multipart("b0undary", form)

    response = requests.post(
        live_server.url + urlsplit(ticket["upload"]["url"]).path,
        data=iter([payload]),  # sent chunked
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        timeout=10,
    )

    assert response.status_code == 411
    assert b"<Code>MissingContentLength</Code>" in response.content
    assert LocalStore(local_media).keys() == []
