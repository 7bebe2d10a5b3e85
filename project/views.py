"""Error pages: JSON under /api/, HTML elsewhere."""

from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from project.api import pages


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


def server_error(request):
    if is_api(request):
        return pages.server_error(request)
    return defaults.server_error(request)
