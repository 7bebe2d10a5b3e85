"""
gunicorn's refusals as the API's JSON errors.

gunicorn answers a request it will not read (a request line over
``limit_request_line``, a header over ``limit_request_field_size``, too many
headers, a malformed line) itself, before Django sees it, with an HTML page.
Clients of the API read ``{"code": ..., "detail": ...}`` from every error,
so the worker writes that instead, the body Django's error pages answer
(``project.api.pages``). gunicorn has no setting for this body: its workers
write it with ``gunicorn.util.write_error``, which :func:`install` replaces
in each worker (``post_worker_init`` in ``gunicorn.conf.py``). The request's
path and language are unknown (it was not read), so the detail is in the
site's default language.
"""

from django.conf import settings
from django.utils import translation
from gunicorn import util
from rest_framework import exceptions

from project.api import pages
from project.api.exceptions import RequestTooLarge

# gunicorn's statuses (gunicorn.workers.base.Worker.handle_error).
REFUSALS = {
    403: exceptions.PermissionDenied,
    414: RequestTooLarge,  # the request line
    431: RequestTooLarge,  # the headers
}


def json_error_page(status_int):
    """The Django error page that says what gunicorn refused."""
    if status_int >= 500:
        return pages.server_error(None)
    refusal = REFUSALS.get(status_int)
    return pages.json_error(refusal()) if refusal else pages.bad_request(None)


def write_json_error(sock, status_int, reason, mesg):
    with translation.override(settings.LANGUAGE_CODE):
        body = json_error_page(status_int).content
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install():
    util.write_error = write_json_error
