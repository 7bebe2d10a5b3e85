"""One whole flow over HTTP against a live server, as an app would do it,
with the same client code in both storage modes."""

import base64
import hashlib

import requests

from tests.support.images import jpeg


def upload_image(base_url, username, password, product_id, body):
    """What a mobile app does: token, ticket, POST to storage, confirm."""
    http = requests.Session()
    token = http.post(
        f"{base_url}/api/auth/token/", json={"username": username, "password": password}, timeout=10
    ).json()["token"]
    http.headers["Authorization"] = f"Token {token}"

    response = http.post(
        f"{base_url}/api/uploads/tickets/",
        json={
            "kind": "product",
            "object_id": product_id,
            "filename": "IMG_2024.jpg",
            "content_type": "image/jpeg",
            "size": len(body),
            "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    ticket = response.json()

    stored = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("IMG_2024.jpg", body, "image/jpeg")},
        timeout=30,
    )
    assert stored.status_code == 204, stored.text

    confirmed = http.post(f"{base_url}/api/uploads/tickets/{ticket['id']}/confirm/", timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    status = http.get(f"{base_url}/api/uploads/tickets/{ticket['id']}/", timeout=10).json()
    assert status["status"] == "confirmed"
    return ticket, confirmed.json()


def test_upload_over_http(store, live_server, settings, staff, product):
    settings.DEBUG = True  # filesystem mode: the dev server serves /media/
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    body = jpeg((640, 480))

    ticket, data = upload_image(live_server.url, "staff", "pw", product.pk, body)

    if store.mode == "s3":
        assert ticket["upload"]["url"].startswith(settings.AWS_S3_ENDPOINT_URL)
    else:
        assert ticket["upload"]["url"] == f"{live_server.url}/uploads/emulator/"
        assert data["url"].startswith(f"{live_server.url}/media/sites/")
    assert (data["width"], data["height"]) == (640, 480)
    image = requests.get(data["url"], timeout=10)
    assert image.status_code == 200
    assert image.content == body
    product.refresh_from_db()
    assert "media/" + product.image.name == data["key"]
    assert store.keys() == [data["key"]]
