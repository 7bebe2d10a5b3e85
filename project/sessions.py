"""
The project's sessions: the session engine (``SESSION_ENGINE =
"project.sessions"`` with a shared cache) and a middleware before Django's.

**Cookies no key could be are dropped** before Django's session middleware
reads them. Django makes keys of lowercase letters and digits, and takes any
cookie of eight characters or more for one, to look up. A cookie's octal
escape unquotes to a NUL (``sessionid="abcdefgh\\000"``), which PostgreSQL
refuses in a parameter: that lookup failed with a 500 on every page and API
call, signed in or not. Such a cookie is taken for no session, as an unknown
key is: a new session replaces it when one is needed. A middleware of its
own, before Django's, rather than a subclass of it: Django's deploy checks
of the session cookie (``security.W010`` to ``W013``) look for Django's
class by name.

**A session ended is ended everywhere.** ``SessionStore`` is Django's
``cached_db`` (a signed-in API call runs no query for its session), whose
``delete()`` removes the database row, then the cached copy, and whose
``load()`` reads the cache first. A copy the cache kept (a Redis that did
not answer the delete: ``project.cache`` drops such writes) signed the
cookie in again once Redis answered, for as long as the session had to
live: a logout undone. Here a flushed session's cached copy goes first,
and a flush the cache did not take is refused (``SessionCacheUnavailable``),
the session left whole: a logout that fails says so rather than seeming
done (a 503 page, ``inventory.refusals.CacheRefusalMiddleware``).

**A logout refused is not recorded.** Django's ``logout()`` sends
``user_logged_out`` before it flushes the session (its receivers learn who
is leaving), and axes then writes the logout's time in its access log: a
flush refused after it left the log saying the user had left while they
were still signed in, and the logout that went through later found that
line closed. Both logout views (the pages' in ``project.urls``, the
admin's in ``project.admin``) run in one transaction, which the refusal
rolls back with the receivers' writes. (A logout Django refuses itself, a
GET or a POST without its CSRF token, never calls ``logout()``.)
"""

from django.conf import settings
from django.contrib.sessions.backends import cached_db
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


class SessionCacheUnavailable(RuntimeError):
    """The cache did not take a session's deletion: the session stays."""


class SessionStore(cached_db.SessionStore):
    def flush(self):
        """Django's, the cached copy deleted first, and the rest refused if
        the cache did not take it. Ending a session (a logout, a login as
        someone else) flushes it; a login's new key (``cycle_key``) leaves
        the old key's copy to expire with it, the session's data moved to
        the new key, so that a login does not fail on a Redis that does not
        answer."""
        if self.session_key is not None:
            self._cache.delete(self.cache_key)
            # project.cache's RedisCache says whether its Redis took the
            # call; Django's raises instead.
            if not getattr(self._cache, "answers", lambda: True)():
                raise SessionCacheUnavailable(
                    "The session cache did not answer: the session stays."
                )
        super().flush()
