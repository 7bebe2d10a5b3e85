"""
Responses in one language whatever the reader's.

``LocaleMiddleware`` activates the reader's language (``Accept-Language``,
the language switcher's cookie) for each request and says so of each
response: ``Content-Language`` that language and ``Vary:
Accept-Language``. A response that is the same for every reader, such as
the OpenAPI schema (``project.api.schema_views``), is marked with
:func:`in_language` and says its own language instead, and varies with
none.
"""

from django.middleware import locale


def in_language(response, language):
    """``response``, written in ``language`` whatever the reader's."""
    response.fixed_language = language
    return response


class LocaleMiddleware(locale.LocaleMiddleware):
    """Django's, but for a response marked with :func:`in_language`: its
    ``Content-Language`` is the one it is written in, not the reader's, and
    no ``Vary: Accept-Language`` makes a cache keep a copy of the same bytes
    for each language."""

    def process_response(self, request, response):
        language = getattr(response, "fixed_language", None)
        if language is None:
            return super().process_response(request, response)
        response.headers["Content-Language"] = language
        return response
