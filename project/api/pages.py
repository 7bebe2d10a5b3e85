"""
Django's error views (``handler400``, ``handler404``, ``handler500``) for
the API's paths: the same ``{"code": ..., "detail": ...}`` as the API's
views answer (``uploads.api.exceptions``), for what fails before or outside
them: an unknown URL, a refused request, a middleware that meets a database
that is down. ``project.views`` sends ``/api/`` here.
"""

import sys

from django.http import JsonResponse
from rest_framework import exceptions, status

from uploads.api.exceptions import (
    DATABASE_ERRORS,
    INVALID_REQUEST,
    SERVER_ERROR,
    DatabaseUnavailable,
    api_exception,
    error_body,
    error_code,
)


def json_error(exc):
    """A Django response for an API exception, outside DRF's views."""
    response = JsonResponse(error_body(error_code(exc), exc.detail), status=exc.status_code)
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response


def bad_request(request, exception=None):
    """Django's refusals before or outside a DRF view."""
    return json_error(api_exception(exception) or exceptions.ParseError(INVALID_REQUEST))


def page_not_found(request, exception=None):
    return json_error(exceptions.NotFound())


def server_error(request):
    # Called while Django handles the exception, as in a middleware that
    # reads the session from a database that is down.
    if isinstance(sys.exception(), DATABASE_ERRORS):
        return json_error(api_exception(sys.exception()))
    return JsonResponse(
        error_body("server_error", SERVER_ERROR),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
