"""
Every API error as ``{"code": ..., "detail": ...}``, plus ``"errors"`` with
the field errors of a 400, and ``Retry-After`` where waiting helps.

Django's own refusals of a request (a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many fields, a bad ``Host``) and a
database that does not answer get the same body: DRF lets them through, and
Django would answer an HTML page or a 500.
"""

import logging
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from uploads.errors import UploadError

logger = logging.getLogger(__name__)

# DRF's codes, renamed where the contract names them differently.
CODES = {
    "parse_error": "invalid",
    "authentication_failed": "not_authenticated",
}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = _("The request is too large.")


class DatabaseUnavailable(exceptions.APIException):
    """The database is down, or locked for longer than it waits: nothing
    the client did, and retrying soon may work."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = _("The service is unavailable. Try again in a moment.")
    retry_after = 5


DATABASE_ERRORS = (OperationalError, InterfaceError)
INVALID_REQUEST = _("The request is not valid.")
SERVER_ERROR = _("Something went wrong on our side. Try again later.")


def api_exception(exc):
    """The API error that stands for one of Django's exceptions, or None."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, SuspiciousOperation):  # too many fields, a bad Host...
        return exceptions.ParseError(INVALID_REQUEST)
    if isinstance(exc, DATABASE_ERRORS):
        logger.error("Database unavailable: %s", exc, exc_info=exc)
        return DatabaseUnavailable()
    return None


def error_body(code, detail, errors=None):
    body = {"code": code, "detail": str(detail)}
    if errors:
        body["errors"] = errors
    return body


def exception_handler(exc, context):
    response = api_error_response(exc, context)
    if response is None or renders_json(context):
        return response
    # A view whose answers are not JSON (the schema's YAML, the docs' HTML
    # page, which cannot render an error at all) still answers errors in JSON.
    as_json = JsonResponse(response.data, status=response.status_code)
    for header, value in response.items():
        if header.lower() != "content-type":
            as_json[header] = value
    return as_json


def renders_json(context):
    request, view = context.get("request"), context.get("view")
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is None and view is not None and view.renderer_classes:
        renderer = view.renderer_classes[0]()  # what DRF falls back to
    return renderer is None or isinstance(renderer, JSONRenderer)


def api_error_response(exc, context):
    if isinstance(exc, UploadError):
        response = Response(error_body(exc.code, exc.detail, exc.errors), status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(int(exc.retry_after))
        return response
    exc = api_exception(exc) or exc
    response = drf_exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", INVALID_REQUEST, errors)
    else:
        code = exc.get_codes()
        if not isinstance(code, str):
            code = exc.default_code
        response.data = error_body(CODES.get(code, code), exc.detail)
    return response


def api_page_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)


def json_error(exc):
    """A Django response for an API exception, outside DRF's views."""
    code = CODES.get(exc.default_code, exc.default_code)
    response = JsonResponse(error_body(code, exc.detail), status=exc.status_code)
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response


def api_bad_request(request, exception=None):
    """Django's refusals before or outside a DRF view (handler400)."""
    exc = api_exception(exception) or exceptions.ParseError(INVALID_REQUEST)
    return json_error(exc)


def api_server_error(request):
    # Called while Django handles the exception (handler500), as in a
    # middleware that reads the session from a database that is down.
    if isinstance(sys.exception(), DATABASE_ERRORS):
        return json_error(api_exception(sys.exception()))
    return JsonResponse(
        error_body("server_error", SERVER_ERROR),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
