"""Error pages: JSON under /api/, HTML elsewhere."""

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
