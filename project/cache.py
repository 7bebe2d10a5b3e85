"""
Django's Redis cache, with one Redis client per server rather than one per
call, bounded calls, and a Redis that does not answer taken for a cache
that misses.

**One client per server.** Django's ``RedisCacheClient.get_client()`` makes
a new ``redis.Redis`` for every cache call, on the shared connection pool.
redis-py 8 builds each client's table of response callbacks anew (about 60
µs of CPU, as much as the round trip itself), and every cache call pays it
(a ticket makes two: its throttle's script, ``uploads.api.throttles``, and
the permissions). A ``redis.Redis`` on a connection pool is safe to share
between threads (each command borrows a connection from the pool), so one
per pool does the same work.

**Bounded calls.** redis-py waits 5 s to connect and 5 s for each answer:
a stalled Redis held every request that touched the cache that long, each
of its cache calls in turn. ``TIMEOUTS`` bound both, unless the cache's
``OPTIONS`` give others.

**A cache, not a dependency.** Nothing here is kept only in Redis: users'
permissions, sessions (written through to the database) and throttle
histories are all a cache's. When Redis refuses a connection or does not
answer in time, a read is a miss, a write is dropped, and the error is
logged; every call then skips Redis for ``UNAVAILABLE_SECONDS`` (each
process on its own), so that an outage costs one timeout per process and
interval rather than one per cache call. Without it, every API call
answered 500 while Redis was down. ``set_many`` says which keys it could
not write, as Django's API lets it: a caller that must know (the
permission cache's version, ``inventory.permission_cache``) asks it.
``incr``, ``decr`` and ``clear`` have no answer to give in its place and
raise as Django's do.
"""

import logging
import threading
import time

from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger(__name__)

# Seconds to connect to Redis, and to wait for each answer: a Redis on the
# same network answers in a millisecond.
TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
# How long calls skip a Redis that has just failed one.
UNAVAILABLE_SECONDS = 5
# What a Redis that is down, restarting or stalled raises (BusyLoadingError,
# while it loads its data, is a ConnectionError).
UNAVAILABLE_ERRORS = (ConnectionError, TimeoutError)

# The servers (a cache's LOCATION) that failed a call, and until when
# calls skip them: a cache object is made per thread, so it is kept here.
_unavailable_until = {}
_unavailable_lock = threading.Lock()


def forget_failures():
    """Take every Redis for one that answers again."""
    with _unavailable_lock:
        _unavailable_until.clear()


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **{**TIMEOUTS, **options})
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        # By id: the pools live as long as this object (Django keeps them).
        client = self._clients.get(id(pool))
        if client is None:
            # Two threads may both make one: either is as good.
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._servers_key = tuple(self._servers)

    def answers(self):
        """Whether no call to this cache's Redis failed within the last
        ``UNAVAILABLE_SECONDS``."""
        return time.monotonic() >= _unavailable_until.get(self._servers_key, 0)

    def failed(self, error):
        with _unavailable_lock:
            _unavailable_until[self._servers_key] = time.monotonic() + UNAVAILABLE_SECONDS
        logger.warning(
            "Redis did not answer (%s); the cache misses for %s s.", error, UNAVAILABLE_SECONDS
        )

    def answer_or(self, fallback, call, *args):
        """``call(*args)``, or ``fallback`` if Redis is unavailable."""
        if not self.answers():
            return fallback
        try:
            return call(*args)
        except UNAVAILABLE_ERRORS as error:
            self.failed(error)
            return fallback

    def get(self, key, default=None, version=None):
        return self.answer_or(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self.answer_or({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self.answer_or(False, super().has_key, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.answer_or(False, super().add, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self.answer_or(None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self.answer_or(list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self.answer_or(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self.answer_or(False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        self.answer_or(None, super().delete_many, keys, version)
