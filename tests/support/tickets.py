"""The upload API as a client calls it: ask for a ticket, post the file,
confirm."""

import base64
import hashlib

import requests


def sha256_b64(body):
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def ticket_request(product, body, **overrides):
    data = {
        "kind": "product",
        "object_id": product.pk,
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(body),
    }
    data.update(overrides)
    return data


def issue(api, product, body, **overrides):
    response = api.post(
        "/api/uploads/tickets/", ticket_request(product, body, **overrides), format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def confirm(api, ticket):
    return api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")


def upload(api, product, body):
    """A ticket for a PNG ``body``, posted to the bucket (S3 mode), not yet
    confirmed."""
    ticket = issue(api, product, body, content_type="image/png")
    response = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        files={"file": ("photo.png", body, "image/png")},
        timeout=10,
    )
    assert response.status_code in (200, 201, 204), response.text
    return ticket


def unsigned(answer):
    """A confirm answer without its URL's query: a presigned URL is signed
    anew for each response, the rest of the answer stays the same."""
    return {**answer, "url": answer["url"].split("?", 1)[0]}
