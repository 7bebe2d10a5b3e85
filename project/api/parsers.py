"""
The project's API parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``):
JSON, whose refusals are the API's 400 ``invalid``, never a 500.

It is the upload app's parser, which its own views need in any project; the
project's views parse their bodies the same way rather than with a copy.
"""

from uploads.api.parsers import JSONParser

__all__ = ["JSONParser"]
