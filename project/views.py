"""Error pages: JSON under /api/, HTML elsewhere."""

from django.views import defaults

from uploads.api.exceptions import api_bad_request, api_page_not_found, api_server_error


def is_api(request):
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if is_api(request):
        return api_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if is_api(request):
        return api_page_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return api_server_error(request)
    return defaults.server_error(request)
