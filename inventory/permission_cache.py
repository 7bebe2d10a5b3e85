"""
Users' model permissions kept in the cache between requests, so that an API
call that checks one (a ticket, a confirm) runs no query for it.

On only when ``PERMISSION_CACHE_SECONDS`` is set, which the settings do with
a shared cache (Redis): each process's own memory would let one process
serve permissions another has just seen revoked.

Any change that may alter someone's permissions (a user's own permissions
or groups, a group's permissions, a user, group or permission added or
deleted, a migration) gives the cache a new random version, at once and
again once its transaction commits (a request that read the old rows in
between must not keep them); a set cached under another version is read
again from the database. A random version, not a counter: a version lost
from the cache and made again never matches an old entry. Changes that
send no signal (``bulk_create`` on the through tables, raw SQL) are seen
when the entry expires, after ``PERMISSION_CACHE_SECONDS`` at most.

A cache that does not answer (``project.cache``) reads as a miss: the
permissions are read from the database. A new version it does not take
fails the change (``PermissionCacheUnavailable``): once it answers again,
it could still hold the old version and the entries cached under it. The
second version, after the commit, can no longer refuse it: should the cache
fail just then, a request that read the old rows in between keeps them for
``PERMISSION_CACHE_SECONDS`` at most.

The refusal raises inside the change's transaction (the admin's form, its
delete page and actions each run in one), so nothing of the request is
saved; ``inventory.refusals.CacheRefusalMiddleware`` then answers the user a
503 that says so and when to retry, rather than a 500.
"""

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

VERSION_KEY = "permissions:version"


def cached_permissions(user, load):
    """``user``'s permissions from the cache, else ``load()``'s, kept."""
    seconds = getattr(settings, "PERMISSION_CACHE_SECONDS", 0)
    if not seconds:
        return load()
    key = f"permissions:user:{user.pk}:{int(user.is_superuser)}"
    entries = cache.get_many([VERSION_KEY, key])
    version = entries.get(VERSION_KEY)
    cached = entries.get(key)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    permissions = load()
    cache.set(key, (version, permissions), seconds)
    return permissions


class PermissionCacheUnavailable(RuntimeError):
    """The cache could not be given a new version: a change of permissions
    is refused rather than left for users to keep what it takes away."""


def new_version():
    # set_many() says which keys it could not write (project.cache: a
    # Redis that does not answer); set() says nothing.
    if cache.set_many({VERSION_KEY: uuid.uuid4().hex}, None):
        raise PermissionCacheUnavailable(
            "The cache did not take the permissions' new version; "
            "permissions cannot change until it answers."
        )


def permissions_changed(**kwargs):
    new_version()
    # Once committed, a failure can no longer refuse the change: it is
    # logged (django.db.backends), and entries cached in between live out
    # PERMISSION_CACHE_SECONDS.
    transaction.on_commit(new_version, robust=True)


def user_added(created, **kwargs):
    """A new user (whose id may be a deleted user's, on SQLite); not every
    save of a user (each login saves ``last_login``)."""
    if created:
        permissions_changed()


def connect_signals():
    """Called from ``InventoryConfig.ready``."""
    user_model = get_user_model()
    for through in (
        user_model.user_permissions.through,
        user_model.groups.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"perms-{through}")
    post_save.connect(user_added, sender=user_model, dispatch_uid="perms-user-added")
    for model in (user_model, Group, Permission):
        post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"perms-del-{model}")
    for model in (Group, Permission):
        post_save.connect(permissions_changed, sender=model, dispatch_uid=f"perms-save-{model}")
    post_migrate.connect(permissions_changed, dispatch_uid="perms-migrate")
