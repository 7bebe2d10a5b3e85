"""
gunicorn's refusals as the API's JSON errors.

gunicorn answers a request it will not read (a request line over
``limit_request_line``, a header over ``limit_request_field_size``, too many
headers, a malformed line) itself, before Django sees it, with an HTML page.
Clients of the API read ``{"code": ..., "detail": ...}`` from every error,
so the worker writes that instead. gunicorn has no setting for this body:
its workers write it with ``gunicorn.util.write_error``, which
:func:`install` replaces in each worker (``post_worker_init`` in
``gunicorn.conf.py``). The request's path and language are unknown (it was
not read), so the detail is in the site's default language.
"""

import json

from django.conf import settings
from django.utils import translation
from gunicorn import util

from uploads.api import exceptions

# gunicorn's statuses (gunicorn.workers.base.Worker.handle_error).
CODES = {
    403: "permission_denied",
    414: exceptions.RequestTooLarge.default_code,  # the request line
    431: exceptions.RequestTooLarge.default_code,  # the headers
}
DETAILS = {
    "permission_denied": exceptions.exceptions.PermissionDenied.default_detail,
    exceptions.RequestTooLarge.default_code: exceptions.RequestTooLarge.default_detail,
    "invalid": exceptions.INVALID_REQUEST,
    "server_error": exceptions.SERVER_ERROR,
}


def write_json_error(sock, status_int, reason, mesg):
    code = CODES.get(status_int) or ("server_error" if status_int >= 500 else "invalid")
    with translation.override(settings.LANGUAGE_CODE):
        body = json.dumps(exceptions.error_body(code, DETAILS[code])).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install():
    util.write_error = write_json_error
