"""
Every API error as ``{"code": ..., "detail": ...}``, plus ``"errors"`` with
the field errors of a 400, and ``Retry-After`` where waiting helps.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from uploads.errors import UploadError

# DRF's codes, renamed where the contract names them differently.
CODES = {
    "parse_error": "invalid",
    "authentication_failed": "not_authenticated",
}


def error_body(code, detail, errors=None):
    body = {"code": code, "detail": str(detail)}
    if errors:
        body["errors"] = errors
    return body


def exception_handler(exc, context):
    if isinstance(exc, UploadError):
        response = Response(error_body(exc.code, exc.detail, exc.errors), status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(int(exc.retry_after))
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", _("The request is not valid."), errors)
    else:
        code = exc.get_codes()
        if not isinstance(code, str):
            code = exc.default_code
        response.data = error_body(CODES.get(code, code), exc.detail)
    return response


def api_page_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)


def api_server_error(request):
    return JsonResponse(
        error_body("server_error", _("Something went wrong on our side. Try again later.")),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
