import hashlib

from rest_framework.throttling import SimpleRateThrottle

from project.api.throttles import RateFromSettings, RedisRateThrottleMixin


class LoginThrottle(RedisRateThrottleMixin, RateFromSettings, SimpleRateThrottle):
    """Password attempts per username and address, at the ``login`` rate of
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``.

    Keyed on both, because many shop phones share one carrier address: an
    address alone would lock a whole town out, a username alone would let
    anyone lock a user out.

    On Redis it counts in one atomic step (``RedisRateThrottleMixin``): with
    DRF's read, then write, guesses sent at once all read the history before
    any wrote it, and a burst of 24 passed a limit of 3 nine to twelve
    times."""

    scope = "login"

    def get_cache_key(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if isinstance(username, (int, float)) and not isinstance(username, bool):
            # DRF's CharField reads a JSON number as its text, and the
            # serializer authenticates that: the same username, throttled alike.
            username = str(username)
        if not isinstance(username, str):
            return None  # nothing to guess with: the serializer refuses it
        ident = f"{username.strip().lower()}\0{self.get_ident(request)}"
        # JSON may carry a lone surrogate, which UTF-8 cannot encode: still
        # counted (under a key of its own), then refused by the serializer.
        digest = hashlib.sha256(ident.encode(errors="surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
