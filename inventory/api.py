"""The products and site API for mobile apps: always one site's data.

Users act on their own site; superusers name one with ``?site=<id>``.
Images are read-only here (``image_url``): they are changed through upload
tickets (``/api/uploads/tickets/``), never by sending bytes to these views.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, filters, generics, serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from inventory.models import Configuration, Product

SITE_PARAMETER = OpenApiParameter(
    "site",
    OpenApiTypes.INT,
    description="Superusers only: the site to act on.",
)


def absolute_file_url(request, field):
    """A URL that works from a phone: presigned or CDN in S3 mode, absolute
    in filesystem mode."""
    if not field:
        return None
    return request.build_absolute_uri(field.url)


def requested_site(request):
    """The site a request acts on: the user's own, or ``?site=`` for a
    superuser. Nothing of another site is ever reachable."""
    user = request.user
    if user.is_superuser and "site" in request.query_params:
        try:
            site_id = int(request.query_params["site"])
        except ValueError:
            raise exceptions.ValidationError({"site": [_("Give a site id.")]}) from None
        return get_object_or_404(Configuration, pk=site_id)
    if user.site_configuration is None:
        if user.is_superuser:
            raise exceptions.ValidationError({"site": [_("Superusers name a site with ?site=.")]})
        raise exceptions.PermissionDenied(_("Your account is not attached to a site yet."))
    return user.site_configuration


class ProductSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "name", "cug", "price", "quantity", "image_url", "created_at", "updated_at"]

    def get_image_url(self, product) -> str | None:
        return absolute_file_url(self.context["request"], product.image)

    def validate_cug(self, cug):
        others = Product.objects.filter(site_configuration=self.context["site"], cug=cug)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("This site already has a product with this CUG."))
        return cug


class ProductPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema_view(
    list=extend_schema(parameters=[SITE_PARAMETER]),
    create=extend_schema(parameters=[SITE_PARAMETER]),
    retrieve=extend_schema(parameters=[SITE_PARAMETER]),
    update=extend_schema(parameters=[SITE_PARAMETER]),
    partial_update=extend_schema(parameters=[SITE_PARAMETER]),
    destroy=extend_schema(parameters=[SITE_PARAMETER]),
)
class ProductViewSet(viewsets.ModelViewSet):
    """The products of the user's site. ``?search=`` matches name and CUG."""

    serializer_class = ProductSerializer
    pagination_class = ProductPagination
    filter_backends = [filters.SearchFilter]
    search_fields = ["name", "cug"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.site = requested_site(request)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Product.objects.none()
        return Product.objects.filter(site_configuration=self.site).order_by("name", "pk")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "site": getattr(self, "site", None)}

    def perform_create(self, serializer):
        serializer.save(site_configuration=self.site)

    def perform_destroy(self, product):
        image = product.image
        product.delete()
        if image:
            # The object goes once the row is surely gone.
            transaction.on_commit(lambda: image.storage.delete(image.name))


class SiteSerializer(serializers.ModelSerializer):
    logo_url = serializers.SerializerMethodField()

    class Meta:
        model = Configuration
        fields = [
            "id",
            "site_name",
            "address",
            "city",
            "country",
            "phone",
            "email",
            "currency",
            "logo_url",
        ]
        read_only_fields = ["id"]

    def get_logo_url(self, site) -> str | None:
        return absolute_file_url(self.context["request"], site.logo)


@extend_schema_view(
    get=extend_schema(parameters=[SITE_PARAMETER]),
    put=extend_schema(parameters=[SITE_PARAMETER]),
    patch=extend_schema(parameters=[SITE_PARAMETER]),
)
class SiteView(generics.RetrieveUpdateAPIView):
    """The user's site; site admins may change it (the logo goes through an
    upload ticket of kind ``logo``)."""

    serializer_class = SiteSerializer
    queryset = Configuration.objects.none()

    def get_object(self):
        site = requested_site(self.request)
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            if not self.request.user.can_manage_site(site):
                raise exceptions.PermissionDenied(_("Only the site's admins may change it."))
        return site
