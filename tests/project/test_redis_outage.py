"""A Redis that is down or stalled (``project.cache``): the API, the pages
and logins go on from the database, each process waits on it at most one
bounded call at a time, and permissions cannot change until it answers."""

import html
import os
import signal
import time
from contextlib import ExitStack, contextmanager

import pytest
import redis
from axes.models import AccessLog
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import project.cache
from inventory.models import Product
from inventory.permission_cache import PermissionCacheUnavailable
from inventory.permissions import permissions_named
from project.seaweedfs import free_weed_ports
from tests.support.images import jpeg
from tests.support.tickets import ticket_request


def use_redis(settings, url):
    """The production settings' cache, sessions and permissions on ``url``."""
    settings.CACHES = {"default": {"BACKEND": "project.cache.RedisCache", "LOCATION": url}}
    settings.PERMISSION_CACHE_SECONDS = 300
    settings.SESSION_ENGINE = "project.sessions"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "upload_tickets": "100/minute",
            "login": "100/minute",
        },
    }


@pytest.fixture
def failures(monkeypatch):
    """The calls that found Redis unavailable, as the cache counts them."""
    seen = []
    failed = project.cache.RedisCache.failed

    def counted(cache, error):
        seen.append(error)
        failed(cache, error)

    monkeypatch.setattr(project.cache.RedisCache, "failed", counted)
    return seen


@pytest.fixture
def shop(sites, make_user):
    staff = make_user("awa", sites[0])
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    return staff, product, api


@contextmanager
def stalled(url):
    """redis-server stopped (SIGSTOP): it takes connections and answers
    nothing, as a Redis swapping or hung does; it goes on afterwards."""
    pid = redis.Redis.from_url(url).info("server")["process_id"]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def ask_ticket(api, product):
    return api.post("/api/uploads/tickets/", ticket_request(product, jpeg()), format="json")


def test_with_redis_down_the_api_pages_and_logins_go_on(settings, shop, failures):
    """Nothing listens where Redis was: a ticket, a site read, a token
    login and a signed-in page are answered as with Redis, not a 500."""
    (port,) = free_weed_ports(1)
    use_redis(settings, f"redis://127.0.0.1:{port}/0")
    staff, product, api = shop
    browser = Client()
    browser.force_login(staff)

    assert ask_ticket(api, product).status_code == 201
    assert api.get("/api/site/").status_code == 200
    login = APIClient().post(
        "/api/auth/token/", {"username": "awa", "password": "pw"}, format="json"
    )
    assert login.status_code == 200 and login.json()["token"]
    assert browser.get("/").status_code == 200
    assert failures


def test_a_stalled_redis_holds_each_process_one_bounded_call(redis_url, settings, shop, failures):
    """A stalled Redis answers nothing: the first call waits out its
    timeout (0.5 s), and the calls after it skip Redis for a while, rather
    than each waiting 5 s (redis-py's default), as every cache call of
    every request did."""
    use_redis(settings, redis_url)
    staff, product, api = shop
    with stalled(redis_url):
        started = time.monotonic()
        first = ask_ticket(api, product)
        first_took = time.monotonic() - started
        others = [ask_ticket(api, product).status_code for _ in range(5)]
        all_took = time.monotonic() - started

    assert (first.status_code, others) == (201, [201] * 5)
    assert first_took >= project.cache.TIMEOUTS["socket_timeout"]
    assert all_took < 3
    assert len(failures) == 1


def test_the_cache_is_used_again_once_redis_answers(redis_url, settings, shop, monkeypatch):
    monkeypatch.setattr(project.cache, "UNAVAILABLE_SECONDS", 0.5)
    use_redis(settings, redis_url)
    staff, product, api = shop
    with stalled(redis_url):
        assert ask_ticket(api, product).status_code == 201
    server = redis.Redis.from_url(redis_url)
    assert server.keys("*permissions:user:*") == []

    time.sleep(0.6)
    assert ask_ticket(api, product).status_code == 201
    assert server.keys("*permissions:user:*")
    assert server.keys("*throttle_upload_tickets*")


@pytest.mark.django_db(transaction=True)
def test_permissions_cannot_change_while_redis_is_down(settings, sites, make_user):
    """Redis could come back holding the old version and what was cached
    under it: a removed permission would still be honoured for minutes. So
    the change is refused, and made once Redis answers."""
    staff = make_user("awa", sites[0])
    change = permissions_named(["inventory.change_product"])
    (port,) = free_weed_ports(1)
    use_redis(settings, f"redis://127.0.0.1:{port}/0")

    with pytest.raises(PermissionCacheUnavailable):
        staff.user_permissions.remove(*change)

    assert staff.user_permissions.filter(pk__in=change).exists()


LOGOUT_REFUSED = (
    "La connexion et la déconnexion sont impossibles tant que le cache est indisponible"
    " ; réessayez dans quelques secondes. Vous êtes toujours connecté comme avant."
)


@pytest.mark.parametrize(
    ("logout", "home", "header"),
    [
        ("/accounts/logout/", "/", "<header"),
        ("/admin/logout/", "/admin/", 'id="site-name"'),
    ],
    ids=["page", "admin"],
)
def test_a_logout_redis_did_not_take_is_refused_with_a_503_rather_than_undone_later(
    redis_url, settings, shop, monkeypatch, logout, home, header
):
    """Django's cached_db deleted the session's row, then its cached copy,
    and reads the cache first: a logout while Redis did not answer seemed
    done, and the old cookie signed in again once Redis answered. The
    logout is now refused, and says so in the user's language (not a 500),
    the session left whole; once Redis answers it goes through."""
    monkeypatch.setattr(project.cache, "UNAVAILABLE_SECONDS", 0.5)
    use_redis(settings, redis_url)
    staff, product, api = shop
    staff.is_staff = True
    staff.save()
    browser = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="fr")
    browser.force_login(staff)
    old_cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value

    def signed_in(cookie):
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
        return replay.get("/").status_code == 200

    with stalled(redis_url):
        during = browser.post(logout)
    time.sleep(0.6)
    page = html.unescape(during.content.decode())
    assert (during.status_code, during["Retry-After"]) == (503, "1")
    assert LOGOUT_REFUSED in page
    assert f'href="{home}"' in page
    assert header in page  # the admin's look under /admin/, the pages' elsewhere
    assert signed_in(old_cookie)

    assert browser.post(logout).status_code in (200, 302)
    assert not signed_in(old_cookie)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("logout", ["/accounts/logout/", "/admin/logout/"], ids=["page", "admin"])
def test_a_logout_redis_did_not_take_is_not_recorded_as_one(
    redis_url, settings, shop, monkeypatch, logout
):
    """Django sends ``user_logged_out`` before it ends the session, and axes
    then writes the logout's time in its access log (the admin's "Access
    logs"): a logout refused as the cache did not take it was recorded as
    done while the user stayed signed in, and the logout that went through
    later found the line closed and recorded nothing."""
    monkeypatch.setattr(project.cache, "UNAVAILABLE_SECONDS", 0.5)
    use_redis(settings, redis_url)
    staff, product, api = shop
    staff.is_staff = True
    staff.save()
    browser = Client(raise_request_exception=False)
    browser.post("/accounts/login/", {"username": staff.username, "password": "pw"})
    (access,) = AccessLog.objects.filter(username=staff.username)

    with stalled(redis_url):
        assert browser.post(logout).status_code == 503
    time.sleep(0.6)
    access.refresh_from_db()
    assert access.logout_time is None

    assert browser.post(logout).status_code == 302
    access.refresh_from_db()
    assert access.logout_time is not None


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_as_redis_stalls_is_done_and_logged(
    redis_url, settings, sites, make_user, caplog
):
    """The version given after the commit cannot refuse the change any
    more: Redis failing just then is logged, not a 500 for a change made."""
    staff = make_user("awa", sites[0])
    change = permissions_named(["inventory.change_product"])
    use_redis(settings, redis_url)

    with ExitStack() as stalls:
        with transaction.atomic():
            staff.user_permissions.remove(*change)
            stalls.enter_context(stalled(redis_url))

    assert not staff.user_permissions.filter(pk__in=change).exists()
    assert "Error calling new_version in on_commit()" in caplog.text


# --- The admin's refusal ------------------------------------------------------


def take_redis_down(settings):
    """Nothing listens where Redis was (once the test's users exist: adding
    one is a change of permissions too)."""
    (port,) = free_weed_ports(1)
    use_redis(settings, f"redis://127.0.0.1:{port}/0")


@pytest.fixture
def root_admin(django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr", raise_request_exception=False)
    client.force_login(root)
    return client


def user_change_form(user, permissions):
    """The admin's change form of ``user``, as posted, with ``permissions``."""
    return {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "user_permissions": [permission.pk for permission in permissions],
        "groups": [],
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
        "site_configuration": user.site_configuration_id,
        "_save": "Enregistrer",
    }


REFUSED = (
    "Les permissions ne peuvent pas être modifiées tant que le cache est indisponible"
    " ; réessayez dans quelques secondes. Rien n'a été enregistré."
)


def assert_refused(response):
    """A 503 saying why and when to retry, in the user's language, in the
    admin's page: not a 500."""
    assert response.status_code == 503
    assert int(response["Retry-After"]) == project.cache.UNAVAILABLE_SECONDS
    page = html.unescape(response.content.decode())
    assert REFUSED in page
    assert 'id="site-name"' in page  # the admin's header


@pytest.mark.django_db(transaction=True)
def test_an_admin_change_of_a_users_permissions_is_refused_with_a_503_and_not_saved(
    settings, sites, make_user, root_admin
):
    staff = make_user("awa", sites[0])
    kept = list(staff.user_permissions.all())
    change = user_change_form(staff, kept[:1])
    change["first_name"] = "Awa"
    take_redis_down(settings)

    response = root_admin.post(f"/admin/inventory/user/{staff.pk}/change/", change)

    assert_refused(response)
    staff.refresh_from_db()
    assert staff.first_name == ""  # the whole form rolled back, not only the permissions
    assert list(staff.user_permissions.all()) == kept


@pytest.mark.django_db(transaction=True)
def test_an_admin_group_added_or_a_user_deleted_is_refused_and_not_saved(
    settings, sites, make_user, root_admin
):
    from django.contrib.auth.models import Group

    staff = make_user("awa", sites[0])
    change = permissions_named(["inventory.change_product"])
    take_redis_down(settings)

    added = root_admin.post(
        "/admin/auth/group/add/", {"name": "caisse", "permissions": [p.pk for p in change]}
    )
    deleted = root_admin.post(f"/admin/inventory/user/{staff.pk}/delete/", {"post": "yes"})
    action = root_admin.post(
        "/admin/inventory/user/",
        {"action": "delete_selected", "index": 0, "_selected_action": [staff.pk], "post": "yes"},
    )

    for response in (added, deleted, action):
        assert_refused(response)
    assert not Group.objects.filter(name="caisse").exists()
    assert type(staff).objects.filter(pk=staff.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_change_is_saved_once_redis_answers(redis_url, settings, sites, make_user):
    staff = make_user("awa", sites[0])
    root = type(staff).objects.create_superuser("root", "root@example.com", "pw")
    use_redis(settings, redis_url)
    client = Client()
    client.force_login(root)
    kept = list(staff.user_permissions.all())[:1]

    response = client.post(
        f"/admin/inventory/user/{staff.pk}/change/", user_change_form(staff, kept)
    )

    assert response.status_code == 302
    assert list(staff.user_permissions.all()) == kept
