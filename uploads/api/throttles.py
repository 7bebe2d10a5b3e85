"""
The ticket throttle, in one Redis round trip when the cache is Redis.

DRF's ``SimpleRateThrottle`` keeps each client's history (the times of its
allowed requests, newest first) as one cache value: a read, then a write,
two round trips on every request, and two requests that read the same
history at once both pass. ``RedisRateThrottleMixin`` runs the same rule in
one Lua script (``SLIDING_LOG``) that reads, trims and appends atomically;
on any other cache (each process's own memory in development and tests) it
is DRF's throttle, unchanged.

A Redis that does not answer lets requests through, logged, rather than
failing them: a throttle's history is a cache's, and the open-ticket limit
(``uploads.services``) still bounds what a user holds. A cache that says
it does not answer (``answers()``, as ``project.cache.RedisCache`` does
for a few seconds after a failed call) is not asked at all.
"""

import functools
import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from uploads.conf import upload_settings

logger = logging.getLogger(__name__)

# DRF's rule (SimpleRateThrottle.allow_request) on a Redis list, newest
# first. KEYS[1]: the list; ARGV: now, the window in seconds, the requests
# allowed in it. Drops the times at least a window old, then records now
# and answers nil when fewer than the limit remain, else answers the
# remaining times (for ``wait()``) and records nothing. The list lives a
# window after its last addition, as DRF's cache entry does.
SLIDING_LOG = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local oldest = redis.call("LINDEX", key, -1)
while oldest and tonumber(oldest) <= now - tonumber(ARGV[2]) do
  redis.call("RPOP", key)
  oldest = redis.call("LINDEX", key, -1)
end
if redis.call("LLEN", key) >= tonumber(ARGV[3]) then
  return redis.call("LRANGE", key, 0, -1)
end
redis.call("LPUSH", key, ARGV[1])
redis.call("EXPIRE", key, ARGV[2])
return false
"""


@functools.cache
def sliding_log_script():
    """The script with its digest, computed once; it runs on the client
    given at each call (EVALSHA, loaded on a server that does not know it
    yet). redis-py is imported only here: only a RedisCache needs it."""
    from redis.commands.core import Script

    return Script(None, SLIDING_LOG.encode())


@functools.cache
def unavailable_errors():
    """What a Redis that is down, restarting or stalled raises."""
    from redis.exceptions import ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError)


def sliding_log(cache, key, now, duration, num_requests):
    """Run ``SLIDING_LOG`` on ``cache``'s server: ``None`` when the request
    is allowed (and recorded), else the history that refuses it, newest
    first."""
    # Django's RedisCache keeps its client behind ``_cache``; its
    # get_client() picks the server by key, as the cache's own writes do.
    client = cache._cache.get_client(key, write=True)
    keys = [cache.make_and_validate_key(key)]
    history = sliding_log_script()(keys=keys, args=[now, duration, num_requests], client=client)
    return None if history is None else [float(time) for time in history]


def unavailable(cache, error):
    """Tell ``cache`` that its Redis failed a call, if it keeps count
    (``failed()``); else log it."""
    if hasattr(cache, "failed"):
        cache.failed(error)
    else:
        logger.warning("Redis did not answer (%s): the request is let through.", error)


class RetryAfterMixin:
    """For a ``SimpleRateThrottle``: a ``wait()`` for every refusal, so that
    every 429 carries ``Retry-After``.

    DRF's ``wait()`` paces the requests left over the rest of the window,
    and gives ``None`` (a 429 without ``Retry-After``) when the history
    holds more requests than the rate allows: what a rate lowered since
    they were recorded leaves. A request is allowed again once fewer than
    the limit remain in the window, i.e. once the limit-th newest of them
    is a window old; which is DRF's own answer when the history is full."""

    def wait(self):
        if len(self.history) <= self.num_requests:
            return super().wait()
        if self.num_requests < 1:
            return self.duration
        return self.duration - (self.now - self.history[self.num_requests - 1])


class RedisRateThrottleMixin(RetryAfterMixin):
    """For a ``SimpleRateThrottle``: the same rate, history, 429 and
    ``Retry-After`` (``wait()`` is ``RetryAfterMixin``'s, on the history
    the script returns), in one round trip and without the read-then-write
    race. The history is a Redis list under the throttle's key plus
    ``:log``, so that it never meets an entry DRF's throttle left under the
    key itself.

    The clock is Django's (``timezone.now``, what tests move), read by the
    app as DRF's ``time.time`` is: instances whose clocks differ count the
    window from their own."""

    def timer(self):
        return timezone.now().timestamp()

    def redis_cache(self):
        """The throttle's cache if it is Redis, else ``None``. DRF's
        default is ``django.core.cache.cache``, a proxy to the default
        cache, which is no ``RedisCache`` itself."""
        cache = self.cache
        if cache is default_cache:
            cache = caches[DEFAULT_CACHE_ALIAS]
        return cache if isinstance(cache, RedisCache) else None

    def allow_request(self, request, view):
        cache = self.redis_cache()
        if self.rate is None or cache is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        if not getattr(cache, "answers", lambda: True)():
            return True
        self.now = self.timer()
        try:
            history = sliding_log(
                cache, f"{self.key}:log", self.now, self.duration, self.num_requests
            )
        except unavailable_errors() as error:
            unavailable(cache, error)
            return True
        if history is None:
            return True
        self.history = history
        return self.throttle_failure()


class TicketIssueThrottle(RedisRateThrottleMixin, UserRateThrottle):
    """Ticket requests per user: the ``upload_tickets`` rate of
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` when the project names that
    scope, else ``UPLOADS["TICKET_RATE"]``, so that a project that sets
    neither still has a limit. ``None`` means no limit.

    Read at call time: DRF's class attribute is frozen at import, so
    settings overrides (and tests) would not reach it."""

    scope = "upload_tickets"

    def get_rate(self):
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope in rates:
            return rates[self.scope]
        return upload_settings.TICKET_RATE
