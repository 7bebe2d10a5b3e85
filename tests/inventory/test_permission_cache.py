"""Permissions cached between requests (inventory.permission_cache): no
query once cached, and every change seen by the next request."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import User
from inventory.permissions import permissions_named

CHANGE = "inventory.change_product"


@pytest.fixture
def site(sites):
    return sites[0]


@pytest.fixture
def cached(settings):
    settings.PERMISSION_CACHE_SECONDS = 60


def has_perm(user, perm=CHANGE):
    """As the next request sees it: the user read again."""
    return User.objects.get(pk=user.pk).has_perm(perm)


def test_a_cached_permission_costs_no_query(cached, make_user, site):
    user = make_user("staff", site)
    assert has_perm(user)
    fresh = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        assert fresh.has_perm(CHANGE)
    assert len(queries) == 0


def test_a_permission_removed_is_seen_at_once(cached, make_user, site):
    user = make_user("staff", site)
    assert has_perm(user)
    user.user_permissions.remove(*permissions_named([CHANGE]))
    assert not has_perm(user)


def test_group_changes_are_seen_at_once(cached, make_user, site):
    user = make_user("staff", site, permissions=[])
    group = Group.objects.create(name="editors")
    assert not has_perm(user)
    group.permissions.add(*permissions_named([CHANGE]))
    user.groups.add(group)
    assert has_perm(user)
    group.permissions.clear()
    assert not has_perm(user)
    group.permissions.add(*permissions_named([CHANGE]))
    assert has_perm(user)
    user.groups.remove(group)
    assert not has_perm(user)
    user.groups.add(group)
    assert has_perm(user)
    group.delete()
    assert not has_perm(user)


def test_a_new_user_with_a_deleted_users_id_gets_their_own(cached, make_user, site):
    user = make_user("staff", site)
    assert has_perm(user)
    pk = user.pk
    user.delete()
    newcomer = User.objects.create(pk=pk, username="newcomer", site_configuration=site)
    assert not has_perm(newcomer)


def test_superuser_status_is_not_served_from_a_stale_entry(cached, make_user, site):
    user = make_user("plain", site, permissions=[])
    assert not has_perm(user, "inventory.delete_configuration")
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    assert has_perm(user, "inventory.delete_configuration")


def test_a_refusal_outside_the_admin_is_the_pages_503(rf, make_user, site):
    """No page changes permissions today; one that did would answer the
    same refusal in the pages' layout, not a 500."""
    from django.utils import translation

    from inventory.permission_cache import PermissionCacheUnavailable
    from inventory.refusals import CacheRefusalMiddleware

    request = rf.post("/products/1/")
    request.user = make_user("staff", site)
    with translation.override("fr"):
        response = CacheRefusalMiddleware(None).process_exception(
            request, PermissionCacheUnavailable("down")
        )
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert "réessayez dans quelques secondes" in response.content.decode()
    assert CacheRefusalMiddleware(None).process_exception(request, ValueError()) is None
