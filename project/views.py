"""Error pages: JSON under /api/, HTML elsewhere; and the language switcher's
view."""

import logging
import sys

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.template import loader
from django.utils.log import log_response
from django.views import defaults, i18n
from django.views.decorators.csrf import csrf_exempt

from project.api import pages
from project.api.exceptions import DATABASE_ERRORS, DatabaseUnavailable


def is_api(request):
    """``/api`` itself and every path under it."""
    return request.path == "/api" or request.path.startswith("/api/")


def bad_request(request, exception):
    if is_api(request):
        return pages.bad_request(request, exception)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if is_api(request):
        return pages.page_not_found(request, exception)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # a POST to an unknown path is a 404, not a CSRF refusal
def api_not_found(request, *args, **kwargs):
    """The last route: every API path no other route takes. Without it,
    Django answers an unknown URL with ``handler404``, except with DEBUG on,
    where it answers its HTML technical page instead, which developers'
    apps cannot parse either; a route answers the same JSON 404 both ways.

    And as every API path now has a route, Django's APPEND_SLASH never
    redirects one (``CommonMiddleware`` redirects only a path that has
    none): a 301 from ``/api/products`` to ``/api/products/`` is followed
    with a GET, so a POST, PUT or DELETE would be lost while the client
    read the list or the object as if it had succeeded."""
    return pages.page_not_found(request)


def set_language(request):
    """Django's ``set_language``, keeping only a language the site offers.

    Django keeps in the cookie any language it has a catalog for: its own
    German one, say, or "EN". ``LocaleMiddleware`` then finds neither in
    ``LANGUAGES`` and falls back to the browser's language or French, the
    user's choice of English lost. A language that is not one of
    ``LANGUAGES``' codes (those the switcher's buttons send) is ignored, as
    Django ignores one it has no catalog for: back to ``next``, no cookie."""
    response = i18n.set_language(request)
    if request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER) not in dict(settings.LANGUAGES):
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    return response


def server_error(request):
    if is_api(request):
        return pages.server_error(request)
    if isinstance(sys.exception(), DATABASE_ERRORS):
        return database_unavailable(request)
    return defaults.server_error(request)


def database_unavailable(request):
    """A page's answer to a database that is down or cancelled a statement
    (``DATABASE_STATEMENT_TIMEOUT``): 503 with ``Retry-After``, as the API
    answers, rather than a 500 that says the server broke. Rendered with no
    context, as Django renders its 500 page: the request's user and site
    would be read from that database."""
    page = loader.get_template("503.html").render()
    response = HttpResponse(page, status=DatabaseUnavailable.status_code)
    response["Retry-After"] = str(DatabaseUnavailable.retry_after)
    return response


class ApiHostMiddleware:
    """A ``Host`` not in ``ALLOWED_HOSTS`` on an API path: the API's JSON
    400, with DEBUG on as with it off.

    The first ``request.get_host()`` (``CommonMiddleware``'s, or
    ``SecurityMiddleware``'s https redirect) raises ``DisallowedHost``.
    With DEBUG off Django answers it with ``handler400`` (``bad_request``,
    JSON under /api/); with DEBUG on, with its HTML technical page, which
    has no hook short of replacing the exception reporter for every path.
    So with DEBUG on, the host of an API request is read here first, before
    any other middleware but ``/healthz``'s, and refused as ``handler400``
    would: the same body, logged as Django logs it
    (``django.security.DisallowedHost``). With DEBUG off Django answers so
    itself, and every API call is spared reading its host twice. Pages keep
    Django's answers, the technical page with DEBUG on included.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.DEBUG and is_api(request):
            try:
                request.get_host()
            except DisallowedHost as exc:
                response = pages.bad_request(request, exc)
                log_response(
                    str(exc),
                    exception=exc,
                    request=request,
                    response=response,
                    level="error",
                    logger=logging.getLogger("django.security.DisallowedHost"),
                )
                return response
        return self.get_response(request)
