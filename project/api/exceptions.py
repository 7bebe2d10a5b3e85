"""
The project's DRF exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``):
every API view answers its errors as the upload API does
(``uploads.api.exceptions``, the one implementation of the body), including
the views whose answers are not JSON. The API's own exceptions (a body
over the limit, a database that is down) are that module's too.
"""

from django.http import JsonResponse
from rest_framework.renderers import JSONRenderer

from uploads.api.exceptions import DATABASE_ERRORS, DatabaseUnavailable, RequestTooLarge
from uploads.api.exceptions import exception_handler as api_exception_handler

__all__ = ["DATABASE_ERRORS", "DatabaseUnavailable", "RequestTooLarge", "exception_handler"]


def exception_handler(exc, context):
    response = api_exception_handler(exc, context)
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
