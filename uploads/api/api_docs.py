"""
The OpenAPI documentation of the upload endpoints: an example for every
request and answer, and the errors each may give. Generated clients (Kotlin,
Swift) and the schema's docs page show these.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema

from uploads.api import schema
from uploads.api.serializers import (
    ConfirmedImageSerializer,
    TicketRequestSerializer,
    TicketSerializer,
)
from uploads.errors import REJECTIONS

TICKET_ID = "3f1c2a9e-5b7d-4e21-9c4a-7d2e8f6b1a30"
KEY = "media/sites/1/products/2b9d0c4e8f1a4b6c9e3d5f7a1c2b4d6e.jpg"

TICKET_EXAMPLE = {
    "id": TICKET_ID,
    "kind": "product",
    "object_id": 42,
    "status": "issued",
    "content_type": "image/jpeg",
    "size": 482113,
    "max_size": 10485760,
    "created_at": "2026-11-24T09:30:00Z",
    "expires_at": "2026-11-24T09:40:00Z",
    "upload": {
        "url": "https://media.example.com/inventory-media",
        "fields": {
            "key": "media/sites/1/products/incoming/3f1c2a9e5b7d4e219c4a7d2e8f6b1a30.jpg",
            "Content-Type": "image/jpeg",
            "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
            "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-credential": "AKIAEXAMPLE/20261124/eu-west-3/s3/aws4_request",
            "x-amz-date": "20261124T093000Z",
            "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMTEtMjRUMDk6NDA6MDBaIiwgLi4ufQ==",
            "x-amz-signature": "6f1d5b0a2c3e4f...",
        },
    },
}

CONFIRMED_EXAMPLE = {
    "id": TICKET_ID,
    "status": "confirmed",
    "kind": "product",
    "object_id": 42,
    "key": KEY,
    "url": f"https://media.example.com/inventory-media/{KEY}?X-Amz-Signature=...",
    "format": "jpeg",
    "width": 1536,
    "height": 2048,
    "size": 482113,
}

# A ticket as it is read back: the form to post is only in the answer
# that issues it.
READ_TICKET_EXAMPLE = {k: v for k, v in TICKET_EXAMPLE.items() if k != "upload"}

NOT_FOUND = schema.error_response(
    "`not_found`: no such object or ticket, or another site's.", "not_found"
)
TRY_AGAIN = "the ticket stays usable."

TICKET_CREATE = extend_schema(
    operation_id="upload_ticket_create",
    request=TicketRequestSerializer,
    responses={
        201: TicketSerializer,
        400: schema.INVALID,
        401: schema.NOT_AUTHENTICATED,
        403: schema.permission_denied(
            "the user may not change the object: a product's photo needs the right to "
            "change products, a logo a site admin."
        ),
        404: NOT_FOUND,
        429: schema.THROTTLED,
    },
    examples=[
        OpenApiExample(
            "A product photo",
            request_only=True,
            value={
                "kind": "product",
                "object_id": 42,
                "filename": "riz.jpg",
                "content_type": "image/jpeg",
                "size": 482113,
                "sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
            },
        ),
        OpenApiExample(
            "The site's logo",
            request_only=True,
            value={
                "kind": "logo",
                "filename": "logo.png",
                "content_type": "image/png",
                "size": 20417,
            },
        ),
        OpenApiExample(
            "An issued ticket", response_only=True, status_codes=["201"], value=TICKET_EXAMPLE
        ),
    ],
)

TICKET_RETRIEVE = extend_schema(
    operation_id="upload_ticket_retrieve",
    responses={
        200: TicketSerializer,
        401: schema.NOT_AUTHENTICATED,
        404: NOT_FOUND,
        422: schema.error_response(
            "`ticket_tampered`: the ticket's row was altered; ask for a new ticket.",
            "ticket_tampered",
        ),
    },
    examples=[
        OpenApiExample(
            "A confirmed ticket",
            response_only=True,
            value={
                **READ_TICKET_EXAMPLE,
                **CONFIRMED_EXAMPLE,
            },
        ),
        OpenApiExample(
            "A rejected ticket",
            response_only=True,
            value={
                **READ_TICKET_EXAMPLE,
                "status": "rejected",
                "code": "invalid_image",
            },
        ),
    ],
)

TICKET_CONFIRM = extend_schema(
    operation_id="upload_ticket_confirm",
    request=None,
    responses={
        200: ConfirmedImageSerializer,
        401: schema.NOT_AUTHENTICATED,
        403: schema.permission_denied("the user may no longer change the ticket's object."),
        404: NOT_FOUND,
        409: schema.error_response(
            f"`upload_missing`: upload the file; {TRY_AGAIN}", "upload_missing"
        ),
        410: schema.error_response("`ticket_expired`: ask for a new ticket.", "ticket_expired"),
        422: schema.error_response(
            "The ticket is rejected for good and its file deleted (for "
            "`ticket_tampered`, the key its row names is left alone).",
            *sorted(REJECTIONS),
        ),
        503: schema.error_response(
            f"`storage_unavailable`: retry after `Retry-After`; {TRY_AGAIN}",
            "storage_unavailable",
        ),
    },
    examples=[OpenApiExample("An attached image", response_only=True, value=CONFIRMED_EXAMPLE)],
)
