"""
OpenAPI documentation of the error contract: each status an endpoint can
answer, with an example body for each code it may carry.

The examples' details are the API's own messages (lazy, so the schema shows
them in the language it is generated in), so they never drift from what
clients really receive.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions

from uploads import errors
from uploads.api.serializers import ErrorSerializer

DETAILS = {
    "invalid": errors.InvalidRequest.default_detail,
    "not_authenticated": exceptions.NotAuthenticated.default_detail,
    "permission_denied": exceptions.PermissionDenied.default_detail,
    "not_found": exceptions.NotFound.default_detail,
    "throttled": exceptions.Throttled.default_detail,
    **{
        error.code: error.default_detail
        for error in (
            errors.UploadMissing,
            errors.TicketExpired,
            errors.StorageUnavailable,
            *errors.REJECTIONS.values(),
        )
    },
}


def error_example(code, detail=None, **extra):
    value = {"code": code, "detail": detail or DETAILS[code], **extra}
    return OpenApiExample(code, value=value, response_only=True)


def error_response(description, *examples):
    """One documented error status: ``examples`` are codes, or
    :func:`error_example` results for bodies that need more."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[
            error_example(example) if isinstance(example, str) else example for example in examples
        ],
    )


INVALID = error_response(
    "`invalid`: the request's fields are wrong; `errors` says which and why.",
    error_example("invalid", errors={"size": ["Ensure this value is greater than or equal to 1."]}),
)
NOT_AUTHENTICATED = error_response(
    "`not_authenticated`: send `Authorization: Token <key>`.", "not_authenticated"
)
THROTTLED = error_response("`throttled`: wait `Retry-After` seconds.", "throttled")


def permission_denied(why):
    return error_response(f"`permission_denied`: {why}", "permission_denied")
