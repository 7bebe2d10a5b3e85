"""
The project's OpenAPI plumbing: the schema's generator (in English, for
every reader), the postprocessing hooks (what any operation may answer;
plain types where client generators would choke), and the helpers its apps
document their errors with.

The helpers are the upload app's (``uploads.api.schema``): the error body is
its contract, so the one way to document it lives beside it, and the
project's other apps take them from here.
"""

from django.utils import translation
from drf_spectacular import generators
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import exceptions, serializers

from uploads.api.exceptions import INVALID_REQUEST, DatabaseUnavailable, RequestTooLarge
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
    "SCHEMA_LANGUAGE",
    "THROTTLED",
    "SchemaGenerator",
    "document_common_errors",
    "error_example",
    "error_response",
    "permission_denied",
    "plain_blank_strings",
]

# The language of the schema's texts, whatever the reader's.
SCHEMA_LANGUAGE = "en"


class SchemaGenerator(generators.SchemaGenerator):
    """drf-spectacular's, writing the schema in English whatever language
    is active (``DEFAULT_GENERATOR_CLASS``): the reader's, in a request to
    /api/schema/, even with drf-spectacular's ``?lang=``; the site's,
    French, in ``manage.py spectacular``, even with ``--lang``.

    Client developers generate Kotlin and Swift clients from the schema:
    two of them whose browsers ask for different languages must get the
    same bytes, or their generated code differs for nothing. And its
    descriptions are written in English for them; in another language
    only the texts that Django's and DRF's catalogs translate (the error
    examples' ``detail``, the pagination parameters, the fields' titles)
    would change, the schema half translated. The API's real answers keep
    the reader's language (``ApiError.detail`` says so)."""

    def get_schema(self, request=None, public=False):
        # The lazy texts are rendered here, before the language is restored.
        with translation.override(SCHEMA_LANGUAGE):
            return super().get_schema(request=request, public=public)


def decimal_pattern(field):
    """The strings ``field`` (a ``DecimalField`` written as a string)
    accepts, as a regular expression: a minus sign only if its
    ``min_value`` lets a number below zero through, at least one digit, at
    most its whole digits before the point and its places after it."""
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    whole = rf"\d{{1,{field.max_whole_digits}}}" if field.max_whole_digits else "0"
    if not field.decimal_places:
        return rf"^{sign}{whole}\.?$"
    places = field.decimal_places
    return rf"^{sign}(?:{whole}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"


class DecimalFieldSchema(OpenApiSerializerFieldExtension):
    """A decimal written as a string (``COERCE_DECIMAL_TO_STRING``) with
    the pattern of what the server accepts (:func:`decimal_pattern`).

    drf-spectacular's pattern ignores ``min_value`` (the ``minimum`` of a
    number, which a string cannot carry) and lets an empty string or a lone
    point through: a product's price, whose model refuses one below zero,
    was documented as taking ``-5``, and generated clients let it be sent
    to a 400. The rule stays where it is written once, the model's
    validator, which DRF turns into the field's ``min_value``."""

    target_class = serializers.DecimalField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if "pattern" in schema:
            schema["pattern"] = decimal_pattern(self.target)
        return schema


ERROR_SCHEMA = "#/components/schemas/ApiError"
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again.",
    }
}


def _documented_error(operation, status, description, code, detail, headers=None, name=None):
    """Add ``code`` to what ``operation`` documents for ``status``, its
    example under ``name`` (by default the code in CamelCase)."""
    example = {"value": {"code": code, "detail": detail}, "summary": code}
    name = name or "".join(word.capitalize() for word in code.split("_"))
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
    whatever its view, before or around its own work:

    - 400 ``invalid`` for a request that cannot be read (too many query
      parameters, which DRF's content negotiation reads on every view; a
      ``Host`` not allowed; for a body, one that is not JSON), beside the
      field errors an operation documents itself;
    - 406 ``not_acceptable`` for an ``Accept`` that excludes JSON;
    - 503 ``database_unavailable``;
    - and, for those that take a body, 413 ``request_too_large`` and 415
      ``unsupported_media_type`` (a body sent as anything but JSON).

    405 is not among them: a method a path does not take has no operation
    to document it on, and an operation never answers it to its own method.

    And every 429 an operation documents carries ``Retry-After``, as every
    refusal of its throttles and locks does (``RetryAfterMixin``, the
    lockout's and the open tickets' waits): a generated client reads the
    header it is told of.
    """
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            takes_body = "requestBody" in operation
            unreadable = ["too many query parameters", "a `Host` the server does not serve"]
            if takes_body:
                unreadable.insert(0, "a body that is not JSON")
            _documented_error(
                operation,
                400,
                f"`invalid`: the request cannot be read ({', '.join(unreadable)}).",
                "invalid",
                INVALID_REQUEST,
                name="InvalidRequest",
            )
            _documented_error(
                operation,
                406,
                "`not_acceptable`: `Accept` excludes `application/json`, the only type answered.",
                exceptions.NotAcceptable.default_code,
                exceptions.NotAcceptable.default_detail,
            )
            _documented_error(
                operation,
                503,
                "`database_unavailable`: the database is down or busy, or took longer than "
                "the server allows one request; retry after `Retry-After`.",
                DatabaseUnavailable.default_code,
                DatabaseUnavailable.default_detail,
                headers=RETRY_AFTER,
            )
            if takes_body:
                _documented_error(
                    operation,
                    413,
                    "`request_too_large`: the body is over the server's limit.",
                    RequestTooLarge.default_code,
                    RequestTooLarge.default_detail,
                )
                _documented_error(
                    operation,
                    415,
                    "`unsupported_media_type`: send the body as `application/json`.",
                    exceptions.UnsupportedMediaType.default_code,
                    exceptions.UnsupportedMediaType.default_detail.format(
                        media_type="application/xml"
                    ),
                )
            if "429" in operation["responses"]:
                operation["responses"]["429"].setdefault("headers", {}).update(RETRY_AFTER)
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result


# --- What client generators read (openapi-python-client, openapi-generator
# Kotlin and Swift): what drf-spectacular writes in a way they turn into
# types nobody can use, said plainly.

# drf-spectacular's second branch for a string that may be blank.
BLANK = {"type": "string", "maxLength": 0}
# What an empty string would fail, as the description says it.
CONSTRAINTS = {
    "format": "in format `{}`",
    "pattern": "matching `{}`",
    "minLength": "of at least {} characters",
}


def _plain_string(schema):
    """``schema`` without the ``oneOf`` that says "blank, or a formatted
    string", or ``schema`` itself if it is not one."""
    branches = schema.get("oneOf")
    if not (isinstance(branches, list) and len(branches) == 2 and branches[1] == BLANK):
        return schema
    formatted = branches[0]
    wanted = " and ".join(
        phrase.format(formatted[key]) for key, phrase in CONSTRAINTS.items() if key in formatted
    )
    plain = {key: value for key, value in schema.items() if key != "oneOf"}
    plain.update({key: value for key, value in formatted.items() if key not in CONSTRAINTS})
    plain["description"] = " ".join(
        filter(None, [plain.get("description"), f"Empty, or {wanted}."])
    )
    if "pattern" in formatted:
        # A pattern can say "or empty" itself, and a client then checks it.
        plain["pattern"] = f"^$|{formatted['pattern']}"
    return plain


def _walk(node):
    if isinstance(node, dict):
        return {key: _walk(value) for key, value in _plain_string(node).items()}
    if isinstance(node, list):
        return [_walk(item) for item in node]
    return node


def plain_blank_strings(result, generator, request, public):
    """drf-spectacular postprocessing hook.

    A string field that may be blank and has a format, such as the site's
    ``EmailField(blank=True)``, is documented as ``oneOf: [an email, a
    string of length 0]``. Generators make a type of that union, named
    after the field's translated title: an empty class in Kotlin, which
    cannot read the string, and a one-case enum in Swift. Documented as a
    plain string instead, with the format in its description; a pattern
    stays one, that also matches the empty string (a ticket's
    ``sha256``)."""
    result["components"]["schemas"] = _walk(result["components"]["schemas"])
    return result
