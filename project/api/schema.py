"""
The project's OpenAPI plumbing: the postprocessing hook that documents what
any operation may answer, and the helpers its apps document their errors
with.

The helpers are the upload app's (``uploads.api.schema``): the error body is
its contract, so the one way to document it lives beside it, and the
project's other apps take them from here.
"""

from uploads.api.exceptions import DatabaseUnavailable, RequestTooLarge
from uploads.api.schema import (
    INVALID,
    NOT_AUTHENTICATED,
    THROTTLED,
    error_example,
    error_response,
    permission_denied,
)

__all__ = [
    "INVALID",
    "NOT_AUTHENTICATED",
    "THROTTLED",
    "document_common_errors",
    "error_example",
    "error_response",
    "permission_denied",
]

ERROR_SCHEMA = "#/components/schemas/Error"
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again.",
    }
}


def _documented_error(operation, status, description, code, detail, headers=None):
    """Add ``code`` to what ``operation`` documents for ``status``."""
    example = {"value": {"code": code, "detail": detail}, "summary": code}
    name = "".join(word.capitalize() for word in code.split("_"))
    response = operation["responses"].setdefault(
        str(status),
        {
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA}, "examples": {}}},
            "description": description,
        },
    )
    if response["description"] != description:
        response["description"] += f" {description}"
    response["content"]["application/json"].setdefault("examples", {})[name] = example
    if headers:
        response.setdefault("headers", {}).update(headers)


def document_common_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: what any operation may answer,
    whatever its view: 503 ``database_unavailable`` and, for those that take
    a body, 413 ``request_too_large`` (``uploads.api.exceptions``)."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            _documented_error(
                operation,
                503,
                "`database_unavailable`: retry after `Retry-After`.",
                DatabaseUnavailable.default_code,
                DatabaseUnavailable.default_detail,
                headers=RETRY_AFTER,
            )
            if "requestBody" in operation:
                _documented_error(
                    operation,
                    413,
                    "`request_too_large`: the body is over the server's limit.",
                    RequestTooLarge.default_code,
                    RequestTooLarge.default_detail,
                )
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result
