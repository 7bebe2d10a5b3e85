"""
A session cookie that no session key could be is dropped before Django's
session middleware reads it.

Django makes keys of lowercase letters and digits, and takes any cookie of
eight characters or more for one, to look up. A cookie's octal escape
unquotes to a NUL (``sessionid="abcdefgh\\000"``), which PostgreSQL refuses
in a parameter: that lookup failed with a 500 on every page and API call,
signed in or not. Such a cookie is taken for no session, as an unknown key
is: a new session replaces it when one is needed.

A middleware of its own, before Django's, rather than a subclass of it:
Django's deploy checks of the session cookie (``security.W010`` to
``W013``) look for Django's class by name.
"""

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS

KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionCookieMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if key is not None and not KEY_CHARS.issuperset(key):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        return self.get_response(request)
