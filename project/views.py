"""Error pages: JSON under /api/, HTML elsewhere."""

from django.middleware import common
from django.views import defaults

from project.api import pages


def is_api(request):
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if is_api(request):
        return pages.bad_request(request, exception)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if is_api(request):
        return pages.page_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return pages.server_error(request)
    return defaults.server_error(request)


class CommonMiddleware(common.CommonMiddleware):
    """Django's, whose APPEND_SLASH redirect leaves the API's paths alone:
    their 404 stays the API's. A 301 from ``/api/products`` to
    ``/api/products/`` is followed with a GET, so a POST, PUT or DELETE
    would be lost while the client reads the list or the object as if it
    had succeeded (and with DEBUG on, Django raises instead of redirecting
    a POST)."""

    def should_redirect_with_slash(self, request):
        return not is_api(request) and super().should_redirect_with_slash(request)
