"""The products and site API for mobile apps: always one site's data.

Users act on their own site; superusers name one with ``?site=<id>``, or
act on the one they chose on the pages (``inventory.sites``).
Images are read-only here: they are changed through upload tickets
(``/api/uploads/tickets/``), never by sending bytes to these views, and shown
as their renditions (``inventory.images``).

The docstrings here are for maintainers: what the schema says to client
developers is written in ``inventory.api_docs``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_view
from rest_framework import exceptions, filters, generics, permissions, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.pagination import PageNumberPagination

from inventory import api_docs, services
from inventory.logins import LoginLocked, TokenLoginSerializer, retry_after
from inventory.models import Configuration, Product
from inventory.permissions import (
    ADD,
    CHANGE,
    DELETE,
    REFUSALS,
    SITE_REFUSAL,
    VIEW,
    can_act_on_products,
    can_manage_site,
)
from inventory.querysets import search_too_long
from inventory.search import too_long_message
from inventory.serializers import ProductSerializer, SiteSerializer
from inventory.sites import acting_site
from inventory.throttles import LoginThrottle
from project.api.parsers import JSONParser


def requested_site(request):
    """The site a request acts on (``inventory.sites.acting_site``), as the
    API's errors when there is none."""
    try:
        site = acting_site(request)
    except DjangoValidationError as error:
        raise exceptions.ValidationError({"site": error.messages}) from None
    if site is None:
        if request.user.is_superuser:
            raise exceptions.ValidationError({"site": [_("Superusers name a site with ?site=.")]})
        raise exceptions.PermissionDenied(_("Your account is not attached to a site yet."))
    return site


class ObtainTokenView(ObtainAuthToken):
    """An API token for a username and password: the same token every time,
    until the account's token is reset. A username locked out by django-axes
    (``inventory.logins``) gets ``login_locked`` whatever the password, and
    a login while another for the username is at work ``login_in_progress``.
    """

    # JSON only, like every operation (DRF's view also takes forms): a body
    # documented in two types gives generated clients two ways to call it,
    # and some generators a method that does not compile.
    parser_classes = [JSONParser]
    serializer_class = TokenLoginSerializer
    throttle_classes = [LoginThrottle]
    # Credentials are the body's: the schema documents no security here,
    # and an app's stale token (401) or a signed-in browser's missing CSRF
    # token (403) must not stop a login with the right password.
    authentication_classes = []

    @api_docs.TOKEN
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            # axes marks the request when it refused the login or when this
            # failure reached the limit.
            if getattr(request, "axes_locked_out", False):
                raise LoginLocked(retry_after(request)) from None
            raise


class ProductPermission(permissions.IsAuthenticated):
    """The products' rule (``inventory.permissions``), by method: the same
    that the pages and the admin apply."""

    ACTIONS = {
        "GET": VIEW,
        "HEAD": VIEW,
        "OPTIONS": VIEW,
        "POST": ADD,
        "PUT": CHANGE,
        "PATCH": CHANGE,
        "DELETE": DELETE,
    }

    def allows(self, request, product=None):
        action = self.ACTIONS.get(request.method)
        if action is None:  # no such operation: the view answers 405
            return True
        self.message = REFUSALS[action]
        return can_act_on_products(request.user, action, product)

    def has_permission(self, request, view):
        return super().has_permission(request, view) and self.allows(request)

    def has_object_permission(self, request, view, obj):
        return self.allows(request, obj)


class ProductPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response_schema(self, schema):
        # The documented page's example (DRF's own points at /accounts/).
        response = super().get_paginated_response_schema(schema)
        for name, example in api_docs.PAGE.items():
            response["properties"][name]["example"] = example
        return response


class ProductSearch(filters.SearchFilter):
    """DRF's ``?search=`` (its parameter in the schema), matched as the
    pages' search box matches: ``ProductQuerySet.search``. A search longer
    than ``inventory.search`` allows is refused, not searched by its
    beginning as the pages do: a client is told its query was not run."""

    def filter_queryset(self, request, queryset, view):
        text = request.query_params.get(self.search_param, "")
        if search_too_long(text):
            raise exceptions.ValidationError({self.search_param: [too_long_message()]})
        return queryset.search(text)


@extend_schema_view(**api_docs.PRODUCTS)
class ProductViewSet(viewsets.ModelViewSet):
    """The products of the user's site. ``?search=`` matches name and CUG."""

    serializer_class = ProductSerializer
    permission_classes = [ProductPermission]
    pagination_class = ProductPagination
    filter_backends = [ProductSearch]
    search_fields = ["name", "cug"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.site = requested_site(request)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Product.objects.none()
        return Product.objects.visible_to(self.request.user, self.site).order_by("name", "pk")

    def filter_queryset(self, queryset):
        """The list's filters (``?search=``) narrow the list alone, as the
        schema documents them: a product's own URL names it. DRF filters
        the rows ``get_object`` looks in with them too, which answered a
        400 to a search too long, and a 404 to one the product does not
        match, to a read, a change or a deletion."""
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "site": getattr(self, "site", None)}

    def perform_create(self, serializer):
        serializer.save(site_configuration=self.site)

    def perform_destroy(self, product):
        services.delete_product(user=self.request.user, product=product)


@extend_schema_view(**api_docs.SITES)
class SiteView(generics.RetrieveUpdateAPIView):
    """The user's site; site admins may change it (the logo goes through an
    upload ticket of kind ``logo``)."""

    serializer_class = SiteSerializer
    queryset = Configuration.objects.none()

    def get_object(self):
        site = requested_site(self.request)
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            if not can_manage_site(self.request.user, site):
                raise exceptions.PermissionDenied(SITE_REFUSAL)
        return site
