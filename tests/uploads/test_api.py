"""The API contract: token auth, validation errors, throttles, storage
outages and routing."""

import pytest
from django.urls import NoReverseMatch, reverse
from rest_framework import exceptions
from rest_framework.test import APIClient

from project.seaweedfs import free_weed_ports
from tests.support.images import jpeg
from tests.support.stores import S3Store
from tests.support.tickets import confirm, issue, ticket_request
from uploads.api.exceptions import exception_handler
from uploads.models import UploadTicket


def test_token_login_and_token_auth(client, staff, product, store):
    response = client.post(
        "/api/auth/token/", {"username": "staff", "password": "pw"}, content_type="application/json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    ticket = issue(app, product, jpeg())
    assert app.get(f"/api/uploads/tickets/{ticket['id']}/").status_code == 200


def test_wrong_password_is_a_clear_error(client, staff):
    response = client.post(
        "/api/auth/token/",
        {"username": "staff", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"]
    assert "non_field_errors" in body["errors"]


def test_bad_token_is_401(client, db):
    response = client.post("/api/uploads/tickets/", HTTP_AUTHORIZATION="Token not-a-token")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"kind": "avatar"}, "kind"),
        ({"content_type": "image/svg+xml"}, "content_type"),
        ({"content_type": "image/jpeg,text/html"}, "content_type"),
        ({"size": 0}, "size"),
        ({"size": -5}, "size"),
        ({"size": "big"}, "size"),
        ({"size": 10 * 1024 * 1024 + 1}, "size"),
        ({"object_id": "abc"}, "object_id"),
        ({"sha256": "not base64!"}, "sha256"),
        ({"sha256": "AAAA"}, "sha256"),
        ({"filename": ["a", "b"]}, "filename"),
    ],
)
def test_invalid_requests_name_the_field(api, product, overrides, field):
    response = api.post(
        "/api/uploads/tickets/", ticket_request(product, jpeg(), **overrides), format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"]
    assert field in body["errors"], body
    assert UploadTicket.objects.count() == 0


def test_logo_size_limit_is_its_own(api, make_user, site):
    admin = APIClient()
    admin.force_authenticate(make_user("boss", site, is_site_admin=True))
    response = admin.post(
        "/api/uploads/tickets/",
        {"kind": "logo", "content_type": "image/png", "size": 3 * 1024 * 1024, "filename": "l.png"},
        format="json",
    )
    assert response.status_code == 400
    assert "size" in response.json()["errors"]


def test_product_photo_limit_is_the_setting_and_the_logo_keeps_its_own(
    api, product, make_user, site, settings
):
    """UPLOADS_MAX_SIZE raises the limit for product photos (a shop with
    20 MB camera files); the logo's 2 MiB is the logo target's own."""
    settings.UPLOADS = {**settings.UPLOADS, "MAX_SIZE": 25 * 1024 * 1024}

    ticket = issue(api, product, jpeg(), size=20 * 1024 * 1024)

    assert ticket["max_size"] == 25 * 1024 * 1024
    admin = APIClient()
    admin.force_authenticate(make_user("boss", site, is_site_admin=True))
    logo = {"kind": "logo", "content_type": "image/png", "size": 3 * 1024 * 1024}
    response = admin.post("/api/uploads/tickets/", logo, format="json")
    assert response.status_code == 400
    assert "size" in response.json()["errors"]


def test_a_file_over_the_limit_is_measured_in_the_users_language(make_user, site):
    """French writes a decimal comma: 3,1 Mo, not 3.1 Mo."""
    admin = APIClient(HTTP_ACCEPT_LANGUAGE="fr")
    admin.force_authenticate(make_user("boss", site, is_site_admin=True))
    logo = {"kind": "logo", "content_type": "image/png", "size": 3 * 1024 * 1024}
    response = admin.post("/api/uploads/tickets/", logo, format="json")
    assert response.json()["errors"]["size"] == [
        "Le fichier fait 3,1 Mo ; la limite est de 2,1 Mo."
    ]


def test_malformed_json_is_invalid(api):
    response = api.generic(
        "POST", "/api/uploads/tickets/", "{not json", content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_errors_not_of_a_field_go_under_the_projects_key(settings):
    # A project that renames DRF's "non_field_errors" gets its own key for
    # every error of no field, a list raised by a view as a serializer's.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NON_FIELD_ERRORS_KEY": "general"}
    response = exception_handler(exceptions.ValidationError(["Pick a site."]), {})
    assert (response.status_code, response.data["errors"]) == (400, {"general": ["Pick a site."]})


def test_ticket_issuance_is_throttled_per_user(api, product, settings, make_user, site):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"upload_tickets": "2/minute"},
    }
    for _ in range(2):
        issue(api, product, jpeg())

    response = api.post("/api/uploads/tickets/", ticket_request(product, jpeg()), format="json")

    assert (response.status_code, response.json()["code"]) == (429, "throttled")
    assert int(response["Retry-After"]) > 0
    other = APIClient()
    other.force_authenticate(make_user("other", site))
    issue(other, product, jpeg())


def test_open_tickets_per_user_are_capped(api, product, settings):
    settings.UPLOADS = {**settings.UPLOADS, "MAX_OPEN_TICKETS": 2}
    issue(api, product, jpeg())
    issue(api, product, jpeg())

    response = api.post("/api/uploads/tickets/", ticket_request(product, jpeg()), format="json")

    assert (response.status_code, response.json()["code"]) == (429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 601


def closed_port():
    return free_weed_ports(1)[0]


def test_issuing_a_ticket_makes_no_call_to_the_bucket(s3_bucket, settings, api, product):
    """With the store unreachable, tickets are still signed and issued."""
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    ticket = issue(api, product, jpeg())
    assert ticket["upload"]["url"].startswith(settings.AWS_S3_ENDPOINT_URL)


def test_storage_outage_at_confirm_is_503_and_the_ticket_stays_usable(
    s3_bucket, s3_client, settings, api, product
):
    store = S3Store(s3_client, s3_bucket)
    body = jpeg()
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) == 204
    endpoint = settings.AWS_S3_ENDPOINT_URL
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"

    response = confirm(api, ticket)

    assert (response.status_code, response.json()["code"]) == (503, "storage_unavailable")
    assert int(response["Retry-After"]) > 0
    assert UploadTicket.objects.get().status == "issued"
    settings.AWS_S3_ENDPOINT_URL = endpoint
    assert confirm(api, ticket).status_code == 200


def test_emulator_is_routed_only_in_filesystem_mode(store, client):
    if store.mode == "s3":
        with pytest.raises(NoReverseMatch):
            reverse("uploads:emulator")
        assert client.post("/uploads/emulator/").status_code == 404
    else:
        assert reverse("uploads:emulator") == "/uploads/emulator/"
        assert client.post("/uploads/emulator/").status_code == 400


def test_unknown_api_url_is_json_404(client, db):
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_ticket_status_shows_the_ticket(store, api, product):
    ticket = issue(api, product, jpeg())
    status = api.get(f"/api/uploads/tickets/{ticket['id']}/").json()
    assert status["id"] == ticket["id"]
    assert status["status"] == "issued"
    assert status["expires_at"] == ticket["expires_at"]
    assert "upload" not in status


def test_errors_speak_the_users_language(api, product):
    french = api.post(
        "/api/uploads/tickets/",
        ticket_request(product, jpeg(), size=0),
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    ).json()
    english = api.post(
        "/api/uploads/tickets/",
        ticket_request(product, jpeg(), size=0),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()

    assert french["code"] == english["code"] == "invalid"
    assert french["detail"] == "La requête n'est pas valide."
    assert english["detail"] == "The request is not valid."


def test_rejection_detail_in_french(store, api, product):
    body = b"plain text"
    ticket = issue(api, product, body)
    assert store.post(ticket["upload"], body) in (200, 201, 204)
    response = api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.json() == {
        "code": "invalid_image",
        "detail": "Le fichier n'est pas une image JPEG, PNG ou WebP, ou il est endommagé.",
    }
