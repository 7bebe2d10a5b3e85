"""
The OpenAPI schema's view and its docs page's (Swagger UI), both in the
schema's language, English, whatever the reader's.

The schema's texts are in English (``SchemaGenerator``); the views say so
(``Content-Language: en``) and that they vary with no language, so that a
cache keeps one copy for every language: of the schema, one for every
reader; of the docs page, one per cookie still (``Vary: Cookie``), as it
holds the reader's CSRF token, for Swagger UI's "Try it out" with a
session. drf-spectacular's ``?lang=``, which the docs page passes on to
the schema, changes nothing.
"""

from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views.decorators.http import conditional_page
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from project.api.schema import SCHEMA_LANGUAGE
from project.languages import in_language


@method_decorator(conditional_page, name="dispatch")
class SchemaView(SpectacularAPIView):
    """The schema, with an ``ETag`` (Django's ``ConditionalGetMiddleware``,
    for this view only) and ``Cache-Control: no-cache``: Swagger UI and a
    generator that kept it ask again with ``If-None-Match`` and get a
    bodiless 304 until it changes, rather than the whole schema again on
    a slow link. ``no-cache``, not a ``max-age``: a deploy that changes the API
    reaches them at once. ``public``: it is the same for every reader."""

    # Not in the schema itself (SERVE_INCLUDE_SCHEMA), as drf-spectacular's.
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        patch_cache_control(response, public=True, no_cache=True)
        return in_language(response, SCHEMA_LANGUAGE)


class DocsView(SpectacularSwaggerView):
    """Swagger UI's page, in English, showing the schema."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return in_language(super().get(request, *args, **kwargs), SCHEMA_LANGUAGE)
