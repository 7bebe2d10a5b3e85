"""
Every error of the upload API as ``{"code": ..., "detail": ...}``, plus
``"errors"`` with the field errors of a 400, and ``Retry-After`` where
waiting helps.

This is the one implementation of that body. It lives here, in the reusable
app, because the upload views must answer their contract in any project,
whatever its ``REST_FRAMEWORK`` setting: they name :func:`exception_handler`
themselves (``uploads.api.views.UploadAPIView``). A project that wants the
same body for its other API views uses these public functions rather than
writing its own (this project does, in ``project.api``).

Django's own refusals of a request that reach a view (a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many fields, a bad ``Host``) and a
database that does not answer get the same body: DRF lets them through, and
Django would answer an HTML page or a 500.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
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
    """The database is down, locked for longer than it waits, or it
    cancelled a statement that ran past the server's limit (PostgreSQL's
    ``statement_timeout``): the server could not do the work in the time it
    gives one request. Nothing the client did wrong, and retrying once the
    database is less busy may work; a request that is always too slow is the
    server's to fix. One code for all: a client does the same for each."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = _("The service is unavailable. Try again in a moment.")
    retry_after = 5


DATABASE_ERRORS = (OperationalError, InterfaceError)
# PostgreSQL's SQLSTATE of a cancelled statement: past ``statement_timeout``,
# or cancelled by an operator (``pg_cancel_backend``).
QUERY_CANCELED = "57014"
INVALID_REQUEST = _("The request is not valid.")
# The detail of ``server_error``: the upload views let bugs through to the
# project's handler500, as DRF does; a project that answers JSON there
# says this (``project.api.pages``).
SERVER_ERROR = _("Something went wrong on our side. Try again later.")
# What a body of JSON ``null`` gets, in place of DRF's "No data provided",
# which its serializers hard-code in English (see ``field_errors``).
NO_DATA = _("No data provided: send a JSON object.")


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
        if cancelled(exc):
            logger.error("Database statement cancelled: %s", exc, exc_info=exc)
        else:
            logger.error("Database unavailable: %s", exc, exc_info=exc)
        return DatabaseUnavailable()
    return None


def cancelled(exc):
    """Whether the database cancelled the statement, rather than failing to
    answer: the log says which, the client's answer is the same. The
    driver's error is the cause of Django's (psycopg 3 names its SQLSTATE
    ``sqlstate``, psycopg2 ``pgcode``)."""
    cause = exc.__cause__
    return QUERY_CANCELED in (getattr(cause, "sqlstate", None), getattr(cause, "pgcode", None))


def error_body(code, detail, errors=None):
    """The body of every error: ``{"code": ..., "detail": ...}``."""
    body = {"code": code, "detail": str(detail)}
    if errors:
        body["errors"] = errors
    return body


def error_code(exc):
    """The contract's code of a DRF exception."""
    code = exc.get_codes()
    if not isinstance(code, str):
        code = exc.default_code
    return CODES.get(code, code)


def exception_handler(exc, context):
    """A DRF exception handler: the response for ``exc`` (an
    ``UploadError``, one of DRF's exceptions or one of Django's above), or
    None for an exception that is a bug (a 500)."""
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
        response.data = error_body("invalid", INVALID_REQUEST, field_errors(exc.detail))
    else:
        response.data = error_body(error_code(exc), exc.detail)
    return response


def field_errors(detail):
    """The ``errors`` of a 400 from a ``ValidationError``'s detail.

    A body of JSON ``null`` fails the serializer with one error of code
    ``null``, which DRF's ``Serializer.errors`` replaces by a message of its
    own, "No data provided", written without ``gettext``: it would reach
    French users in English. The same case (the one error, its code kept)
    gets a message the catalogs translate.

    Errors of no field go under DRF's ``NON_FIELD_ERRORS_KEY``, as a
    serializer puts them, whether a serializer or a view raised them."""
    key = api_settings.NON_FIELD_ERRORS_KEY
    if not isinstance(detail, dict):
        return {key: detail}
    non_field = detail.get(key)
    if len(detail) == 1 and isinstance(non_field, list) and len(non_field) == 1:
        if getattr(non_field[0], "code", None) == "null":
            return {key: [exceptions.ErrorDetail(NO_DATA, "null")]}
    return detail
