"""
Django's Redis cache, with one Redis client per server rather than one per
call.

Django's ``RedisCacheClient.get_client()`` makes a new ``redis.Redis`` for
every cache call, on the shared connection pool. redis-py 8 builds each
client's table of response callbacks anew (about 60 µs of CPU, as much as
the round trip itself), and every cache call pays it (a ticket makes two:
its throttle's script, ``uploads.api.throttles``, and the permissions). A
``redis.Redis`` on a connection pool is safe to share between threads (each
command borrows a connection from the pool), so one per pool does the same
work. Everything else is Django's.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
