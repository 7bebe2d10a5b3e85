"""
The old app's upload, for the benchmarks only: the photo comes to Django as
a multipart form and Django writes it into the bucket with django-storages
(the product's ``ImageField``). Never part of the product: gunicorn serves it
only under ``tests.support.proxy_settings``, whose URLconf adds it to the
project's. Beside it, an API call that does nothing (``Floor``).
"""

from django.http import JsonResponse
from django.urls import include, path
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Product
from tests.support import socket_bytes


class ProxyUpload(APIView):
    """``POST /bench/proxy/<product>/`` with the image as ``file``: stored
    and attached in the request, as before the direct flow."""

    parser_classes = [MultiPartParser]

    def post(self, request, product):
        item = get_object_or_404(Product.objects.visible_to(request.user), pk=product)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "missing"})
        item.image.save(upload.name, upload, save=True)
        return Response({"name": item.image.name}, status=201)


class Floor(APIView):
    """``GET /bench/floor/``: an API call that does nothing but what every
    call does (gunicorn, the middleware, DRF, the token's authentication,
    the JSON answer): the least a request of the API costs."""

    def get(self, request):
        return Response({})


def socket_counts(request):
    """The bytes this process's sockets have carried so far."""
    return JsonResponse(socket_bytes.counts)


urlpatterns = [
    path("bench/proxy/<int:product>/", ProxyUpload.as_view()),
    path("bench/floor/", Floor.as_view()),
    path("bench/sockets/", socket_counts),
    path("", include("project.urls")),
]

handler400 = "project.views.bad_request"
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"
