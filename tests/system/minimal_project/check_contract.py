"""
The upload contract, run inside the minimal project (``settings.py``): DRF's
defaults, no ``inventory``, no ``project``, one toy target. The upload views
must bring what they need (permission, parser, renderer, error handling, a
ticket rate) rather than rely on the main project's ``REST_FRAMEWORK``.

Run by ``tests/system/test_minimal_project.py`` in a process of its own, in
the storage mode its environment picks.
"""

import base64
import hashlib
import os
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from rest_framework.authentication import BasicAuthentication
from rest_framework.test import APIClient

from tests.support.images import jpeg
from tests.support.tickets import unsigned
from tests.system.minimal_project.toy.models import Poster
from uploads.api.views import UploadAPIView
from uploads.s3 import s3_enabled
from uploads.uploader import multipart, post_over_http

pytestmark = pytest.mark.django_db(transaction=True)

TICKETS = "/api/uploads/tickets/"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", password="pw")


@pytest.fixture
def poster(owner):
    return Poster.objects.create(owner=owner)


@pytest.fixture
def api(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


def ticket_request(poster, body, **changes):
    return {
        "kind": "poster",
        "object_id": poster.pk,
        "filename": "poster.jpg",
        "content_type": "image/jpeg",
        "size": len(body),
        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        **changes,
    }


def issue(api, poster, body):
    response = api.post(TICKETS, ticket_request(poster, body), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def post_to_store(client, upload, body):
    """Post the ticket's form as a client does: to the bucket in S3 mode,
    to this project's emulator otherwise."""
    payload, header = multipart(upload["fields"], body, "image/jpeg", "poster.jpg")
    url = urlsplit(upload["url"])
    if url.netloc == "testserver":
        return client.generic("POST", url.path, payload, content_type=header).status_code
    return post_over_http(upload["url"], payload, header)[0]


def confirm(api, ticket):
    return api.post(f"{TICKETS}{ticket['id']}/confirm/")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_the_storage_mode_is_the_one_asked_for(settings):
    assert s3_enabled() == bool(os.environ.get("AWS_STORAGE_BUCKET_NAME"))
    assert not hasattr(settings, "REST_FRAMEWORK"), "DRF's defaults, as a new project has"


def test_ticket_post_confirm_attaches_the_file(api, poster):
    body = jpeg((64, 48))
    ticket = issue(api, poster, body)
    assert ticket["status"] == "issued"
    store = os.environ["AWS_S3_ENDPOINT_URL"] if s3_enabled() else "http://testserver/"
    assert ticket["upload"]["url"].startswith(store)

    assert post_to_store(api, ticket["upload"], body) in (200, 201, 204)
    confirmed = confirm(api, ticket)

    assert confirmed.status_code == 200, confirmed.content
    result = confirmed.json()
    assert (result["status"], result["format"]) == ("confirmed", "jpeg")
    assert (result["width"], result["height"]) == (64, 48)
    poster.refresh_from_db()
    assert poster.picture.name.startswith("sites/default/posters/")
    assert result["key"] == f"media/{poster.picture.name}"
    with default_storage.open(poster.picture.name) as attached:
        assert attached.read() == body
    shown = api.get(f"{TICKETS}{ticket['id']}/")
    assert (shown.status_code, shown.json()["status"]) == (200, "confirmed")
    # The same answer; its URL is signed anew, with the second it is signed in.
    again = confirm(api, ticket).json()
    assert unsigned(again) == unsigned(result), "confirming again answers the same"


def test_upload_errors_are_json(api, poster, django_user_model):
    body = jpeg()
    bad_kind = api.post(TICKETS, ticket_request(poster, body, kind="product"), format="json")
    assert "kind" in assert_error(bad_kind, 400, "invalid")["errors"]
    unknown = api.post(TICKETS, ticket_request(poster, body, kind="nope"), format="json")
    assert "kind" in assert_error(unknown, 400, "invalid")["errors"]
    not_json = api.generic("POST", TICKETS, "{not json", content_type="application/json")
    assert_error(not_json, 400, "invalid")
    someone_elses = Poster.objects.create(owner=django_user_model.objects.create_user("other"))
    assert_error(
        api.post(TICKETS, ticket_request(someone_elses, body), format="json"), 404, "not_found"
    )
    no_ticket = "3f1c2a9e-5b7d-4e21-9c4a-7d2e8f6b1a30"
    assert_error(api.get(f"{TICKETS}{no_ticket}/"), 404, "not_found")
    assert_error(api.post(f"{TICKETS}{no_ticket}/confirm/"), 404, "not_found")

    ticket = issue(api, poster, body)
    assert_error(confirm(api, ticket), 409, "upload_missing")


def test_anonymous_users_get_403_with_drf_default_authentication(api, poster):
    ticket = issue(api, poster, jpeg())
    anonymous = APIClient()

    for response in (
        anonymous.post(TICKETS, ticket_request(poster, jpeg()), format="json"),
        anonymous.get(f"{TICKETS}{ticket['id']}/"),
        confirm(anonymous, ticket),
    ):
        assert_error(response, 403, "not_authenticated")


def test_anonymous_users_get_401_when_the_authenticator_asks_for_credentials(
    api, poster, monkeypatch
):
    """Authentication is the project's choice; one whose first
    authenticator sends ``WWW-Authenticate`` (HTTP Basic here) gets 401."""
    monkeypatch.setattr(UploadAPIView, "authentication_classes", [BasicAuthentication])
    anonymous = APIClient()

    response = anonymous.post(TICKETS, ticket_request(poster, jpeg()), format="json")

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Basic")
    signed_in = APIClient()
    signed_in.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"owner:pw").decode())
    assert signed_in.post(TICKETS, ticket_request(poster, jpeg()), format="json").status_code == 201


def test_ticket_requests_are_throttled_without_any_rate_setting(api, poster):
    """``UPLOADS["TICKET_RATE"]``'s default, 120 an hour: the throttle counts
    every request, even those refused."""
    refused = ticket_request(poster, jpeg(), kind="nope")
    statuses = {api.post(TICKETS, refused, format="json").status_code for _ in range(120)}
    assert statuses == {400}

    response = api.post(TICKETS, refused, format="json")

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_the_uploads_setting_sets_the_ticket_rate(api, poster, settings):
    settings.UPLOADS = {"TICKET_RATE": "1/minute"}
    issue(api, poster, jpeg())
    assert_error(api.post(TICKETS, ticket_request(poster, jpeg()), format="json"), 429, "throttled")
