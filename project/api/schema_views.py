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

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from project.api.schema import SCHEMA_LANGUAGE
from project.languages import in_language


class SchemaView(SpectacularAPIView):
    # Not in the schema itself (SERVE_INCLUDE_SCHEMA), as drf-spectacular's.
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return in_language(super().get(request, *args, **kwargs), SCHEMA_LANGUAGE)


class DocsView(SpectacularSwaggerView):
    """Swagger UI's page, in English, showing the schema."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return in_language(super().get(request, *args, **kwargs), SCHEMA_LANGUAGE)
