"""The ticket throttle (uploads.api.throttles): DRF's rate rule, in one
round trip on a real Redis and as DRF's own throttle on any other cache;
the same answers either way."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import redis
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.support.clock import frozen_clock
from tests.support.images import jpeg
from tests.support.tickets import issue, ticket_request
from uploads.api.throttles import TicketIssueThrottle


def ticket_rate(settings, rate):
    """Ticket requests allowed per user: ``rate``, and no other throttle rate."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"upload_tickets": rate},
    }


@pytest.fixture(params=["redis", "locmem"])
def throttle_cache(request, settings):
    """The project's Redis cache on a Redis of the test's own, or each
    process's memory (development, the other tests): the fallback."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": url}}
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    ticket_rate(settings, "2/minute")
    return request.param


@pytest.fixture
def at():
    """The clock ``seconds`` after the test's start, standing still:
    Retry-After counts whole seconds, which the time a busy machine takes
    between two requests would otherwise move."""
    return frozen_clock()


def ask(api, product):
    return api.post("/api/uploads/tickets/", ticket_request(product, jpeg()), format="json")


def assert_throttled(response, retry_after):
    assert response.status_code == 429
    body = response.json()
    assert (set(body), body["code"]) == ({"code", "detail"}, "throttled") and body["detail"]
    assert int(response["Retry-After"]) == retry_after


def test_the_limit_slides_with_the_window(throttle_cache, api, product, at):
    """2 a minute: the third request within a minute of the first is
    refused until that first one is a minute old; refused requests do not
    count."""
    with at(0):
        issue(api, product, jpeg())
    with at(20):
        issue(api, product, jpeg())
    with at(30):
        assert_throttled(ask(api, product), retry_after=30)
    with at(50):
        assert_throttled(ask(api, product), retry_after=10)
    with at(61):
        issue(api, product, jpeg())
        # The second request (at 20 s) and this one fill the window again.
        assert_throttled(ask(api, product), retry_after=19)
    with at(81):
        issue(api, product, jpeg())


def test_a_rate_lowered_under_the_history_still_says_when_to_retry(
    throttle_cache, api, product, settings, at
):
    """Three requests recorded at 3 a minute, then the rate lowered to 2:
    DRF's wait() gave None there, a 429 without Retry-After. The next
    request is allowed once only one of them is within the window, when the
    one at 10 s is a minute old."""
    ticket_rate(settings, "3/minute")
    with at(0):
        issue(api, product, jpeg())
    with at(10):
        issue(api, product, jpeg())
    with at(20):
        issue(api, product, jpeg())
    ticket_rate(settings, "2/minute")
    with at(30):
        assert_throttled(ask(api, product), retry_after=40)
    with at(69):
        assert_throttled(ask(api, product), retry_after=1)
    with at(71):
        issue(api, product, jpeg())


def test_each_user_has_a_limit_of_their_own(throttle_cache, api, product, make_user, site):
    issue(api, product, jpeg())
    issue(api, product, jpeg())
    assert ask(api, product).status_code == 429

    other = APIClient()
    other.force_authenticate(make_user("other", site))
    issue(other, product, jpeg())
    issue(other, product, jpeg())
    assert ask(other, product).status_code == 429


def test_a_history_gone_from_the_cache_is_an_empty_window(throttle_cache, api, product):
    """An entry the cache dropped (expired, evicted, flushed) counts nothing."""
    issue(api, product, jpeg())
    issue(api, product, jpeg())
    cache.clear()
    issue(api, product, jpeg())


def test_the_history_expires_a_window_after_the_last_request(redis_url, settings, api, product):
    """As DRF's cache entry does: Redis keeps a user's history no longer
    than the window."""
    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": redis_url}}
    ticket_rate(settings, "2/minute")
    issue(api, product, jpeg())
    server = redis.Redis.from_url(redis_url)

    (key,) = server.keys("*throttle_upload_tickets_*")
    assert 55 <= server.ttl(key) <= 60
    assert server.llen(key) == 1


# The commands SLIDING_LOG runs inside Redis: Redis counts them too.
SCRIPTED = {"lindex", "rpop", "llen", "lrange", "lpush", "expire"}


def commands(server):
    """Commands Redis ran since the last reset, by name, those of scripts
    included."""
    return {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in server.info("commandstats").items()
        if name not in ("cmdstat_info", "cmdstat_config|resetstat")
    }


@pytest.mark.django_db(transaction=True)
def test_a_ticket_makes_two_redis_round_trips(redis_url, settings, staff, product):
    """As in production (Redis, token auth): one EVALSHA for the throttle
    and one MGET for the cached permissions (inventory.permission_cache);
    nothing else goes to Redis."""
    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": redis_url}}
    settings.PERMISSION_CACHE_SECONDS = 300
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    server = redis.Redis.from_url(redis_url)
    issue(api, product, jpeg())  # loads the script and caches the permissions
    server.config_resetstat()

    for _ in range(3):
        issue(api, product, jpeg())

    sent = {name: calls for name, calls in commands(server).items() if name not in SCRIPTED}
    assert sent == {"evalsha": 3, "mget": 3}


def test_requests_at_the_same_moment_never_pass_the_limit_on_redis(redis_url, settings):
    """Each check reads, trims and records in one script: requests that
    arrive together cannot all read the same history and all pass, as they
    could with a read then a write."""
    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": redis_url}}
    ticket_rate(settings, "5/minute")
    request = SimpleNamespace(user=SimpleNamespace(pk=1, is_authenticated=True), META={})
    start = threading.Barrier(16)

    def check(_):
        throttle = TicketIssueThrottle()
        start.wait()
        return throttle.allow_request(request, None)

    with ThreadPoolExecutor(16) as pool:
        allowed = list(pool.map(check, range(16)))

    assert allowed.count(True) == 5
