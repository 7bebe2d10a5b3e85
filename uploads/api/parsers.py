"""
The API's JSON parser: a body that is not JSON answers 400 with the API's
error body, in the user's language, never a 500.

DRF's parser lets ``RecursionError`` through: a body nested deeper than
Python's recursion limit (``[`` × 1000, a few kilobytes) was a 500, on the
unauthenticated token endpoint too. Its messages are also English-only and
quote the decoder's internals.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            # Refuses charsets that are not text encodings (``zlib`` would
            # decompress the body).
            parsers.get_encoding(parser_context or {})
        except exceptions.ParseError:
            raise exceptions.ParseError(_("Unknown charset: send JSON in UTF-8.")) from None
        try:
            return super().parse(stream, media_type, parser_context)
        except (exceptions.ParseError, RecursionError):
            raise exceptions.ParseError(_("The body is not valid JSON.")) from None
