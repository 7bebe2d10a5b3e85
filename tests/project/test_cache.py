"""The project's Redis cache: Django's, with one client per server."""

from django.core.cache import caches


def test_one_redis_client_serves_every_call(redis_url, settings):
    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": redis_url}}
    cache = caches["default"]
    cache.set("history", [1.5, 2.5], 60)
    cache.set("count", 1, 60)
    cache.incr("count")

    assert cache.get("history") == [1.5, 2.5]
    assert cache.get_many(["history", "count", "none"]) == {"history": [1.5, 2.5], "count": 2}
    assert cache.add("count", 5, 60) is False
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client
