"""Who may do what to a site's products and settings: the one rule that the
pages, the API, the admin and the upload targets all ask.

What a user may do is what Django's model permissions say, given one by one
or through groups (``inventory.view_product``, ``add_product``,
``change_product``, ``delete_product``, ``change_configuration``), and only
ever to rows of their own site (``inventory.sites`` decides which site a
request acts on; a row of another site is not found: ``in_own_site``, and
``visible_to`` on the querysets). Superusers have every permission on every
site, and they alone add and delete sites. A site admin
(``User.is_site_admin``) holds ``SITE_ADMIN_PERMISSIONS`` by that role
(``SiteAdminBackend``), so the flag and the permissions never disagree: the
admin, which knows only permissions, and the pages and API grant the same
things.

As in Django's admin, the permission to change products includes seeing them.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inventory.permission_cache import cached_permissions
from uploads.statements import object_by_pk, reads_every_row, written_once

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"

#: What a user refused an action on products is told.
REFUSALS = {
    VIEW: _("Your account may not see products."),
    ADD: _("Your account may not add products."),
    CHANGE: _("Your account may not change products."),
    DELETE: _("Your account may not delete products."),
}
#: What a user refused a change to the site is told.
SITE_REFUSAL = _("Your account may not change the site's settings.")
#: What a user refused the deletion of sites is told.
SITES_REFUSAL = _("Your account may not delete sites.")

#: What a site's staff are usually given: see, add and change products.
STAFF_PERMISSIONS = ["inventory.view_product", "inventory.add_product", "inventory.change_product"]
#: What a site admin holds by their role: also delete products, see and
#: change the site's settings and logo, and see the site's upload tickets
#: (the admin's, which confirms those left waiting).
SITE_ADMIN_PERMISSIONS = [
    *STAFF_PERMISSIONS,
    "inventory.delete_product",
    "inventory.view_configuration",
    "inventory.change_configuration",
    "uploads.view_uploadticket",
]


def permissions_named(names):
    """The ``Permission`` rows of ``names`` (``"app_label.codename"``), to
    give to a user or a group."""
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query)


def in_own_site(user, site_id):
    """Whether a row of ``site_id`` is one ``user`` may act on at all."""
    if user.is_superuser:
        return True
    own = getattr(user, "site_configuration_id", None)
    return own is not None and site_id == own


def in_own_site_rows(user, queryset, site_field):
    """``in_own_site`` for a whole ``queryset``, whose rows belong to the
    site that ``site_field`` names: every row for a superuser, else the rows
    of the user's own site, and none for a user attached to no site.

    Querysets say it as ``.visible_to(user)`` (``inventory.querysets``)."""
    if user.is_superuser:
        return queryset
    own = getattr(user, "site_configuration_id", None)
    if own is None:
        return queryset.none()
    return queryset.filter(**{site_field: own})


def can_act_on_products(user, action, product=None):
    """Whether ``user`` may ``action`` (``VIEW``, ``ADD``, ``CHANGE`` or
    ``DELETE``) products, or ``product`` when given."""
    if not user.is_active:
        return False
    allowed = user.has_perm(f"inventory.{action}_product")
    if action == VIEW:
        allowed = allowed or user.has_perm("inventory.change_product")
    if not allowed:
        return False
    return product is None or in_own_site(user, product.site_configuration_id)


def can_add_or_delete_sites(user):
    """Whether ``user`` may add or delete sites: only superusers, as a site
    is the bound of everyone else's reach, and deleting one takes its
    products, their images and its logo with it."""
    return user.is_active and user.is_superuser


def can_manage_site(user, site):
    """Whether ``user`` may change ``site``: its settings and its logo."""
    return manages_site(user, site.pk)


def can_see_originals(user, site_id):
    """Whether ``user`` gets links to the originals of the images of the site
    ``site_id`` (product photos, the logo), as sent by their uploaders.

    Everyone else sees only the renditions the server re-encoded
    (``inventory.images``): an original is bytes as a client sent them,
    metadata and all. Those who answer for the site, its admins and
    superusers, keep a way to the evidence."""
    return manages_site(user, site_id)


def manages_site(user, site_id):
    """Whether ``user`` answers for the site ``site_id``: what
    ``can_manage_site`` and ``can_see_originals`` ask."""
    return (
        user.is_active
        and user.has_perm("inventory.change_configuration")
        and in_own_site(user, site_id)
    )


def held_permissions(account):
    """The permissions ``account`` holds, active or not: its own, its
    groups' and its role's. Django gives an inactive account none, but it
    holds them still, and has them back once reactivated."""
    held = {f"{app}.{codename}" for app, codename in permissions_of(account.pk, False)}
    if account.is_site_admin:
        held.update(SITE_ADMIN_PERMISSIONS)
    return held


def outranks(account, user):
    """Whether ``account`` holds what ``user`` does not: a superuser's or a
    site admin's role, or a permission of its own or of its groups, active
    or not (``held_permissions``). Staff given the users' permissions may
    manage their site's accounts, but not those: setting such an account's
    password, or reactivating it, would give them what only a site admin or
    a superuser may give."""
    if account is None or user.is_superuser:
        return False
    if account.is_superuser or (account.is_site_admin and not user.is_site_admin):
        return True
    return not held_permissions(account) <= user.get_all_permissions()


class OneQueryModelBackend(ModelBackend):
    """Django's ``ModelBackend``, reading a user's own permissions and those
    of their groups in one query rather than two: every API call that checks
    a permission (a ticket, a confirm) pays for it. The same permissions,
    cached on the user for the request as Django caches them, and between
    requests with a shared cache (``inventory.permission_cache``).

    A signed-in user is read at each request (the session's, for the pages,
    the admin and the browser's uploads) by a ``SELECT`` written once per
    process (``uploads.statements.object_by_pk``) rather than a queryset
    compiled each time: the same row, the same refusal of an inactive user.
    """

    def get_user(self, user_id):
        model = get_user_model()
        if not reads_every_row(model._default_manager):
            # ModelBackend reads through it: a manager that hides users.
            return super().get_user(user_id)
        try:
            user = object_by_pk(model, user_id)
        except ValidationError:
            # Out of the column's range (a session's id is any integer):
            # the ORM finds no user there, and raises ValueError for what
            # is not a number. ModelBackend answers these as Django does.
            return super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = cached_permissions(user_obj, lambda: self.load(user_obj))
        return user_obj._perm_cache

    def load(self, user_obj):
        """The names of ``user_obj``'s permissions: the query of
        ``permissions_of``, compiled once per process rather than at each
        call. Without a shared cache every call that checks a permission
        runs it, and compiling it cost some fifty times more than running
        it (1.2 ms against 0.02 ms, SQLite)."""
        connection = connections[router.db_for_read(Permission)]
        key = user_obj._meta.pk.get_db_prep_value(user_obj.pk, connection)
        sql, keys = written_once(
            connection, "permissions", write_permissions_select, user_obj.is_superuser
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [key] * keys)
            return {f"{app}.{codename}" for app, codename in cursor.fetchall()}


def permissions_of(user_pk, is_superuser):
    """The ``(app_label, codename)`` of the permissions the user
    ``user_pk`` holds, their own and their groups', in one query; every
    permission for a superuser."""
    permissions = Permission.objects.order_by()
    if not is_superuser:
        own = get_user_model().user_permissions.through.objects.filter(user=user_pk)
        of_groups = Group.permissions.through.objects.filter(group__user=user_pk)
        permissions = permissions.filter(
            Q(pk__in=own.values("permission_id")) | Q(pk__in=of_groups.values("permission_id"))
        )
    return permissions.values_list("content_type__app_label", "codename")


# Compiled with this key in the user's place: the query's only parameters.
KEY_MARK = 0


def write_permissions_select(connection, is_superuser):
    """``permissions_of``'s SQL and how many times it takes the user's key."""
    query = permissions_of(KEY_MARK, is_superuser).query
    sql, params = query.get_compiler(connection=connection).as_sql()
    assert all(param == KEY_MARK for param in params), params
    return sql, len(params)


class SiteAdminBackend(BaseBackend):
    """Gives a site admin ``SITE_ADMIN_PERMISSIONS``, which their own site's
    scoping (above, and in every queryset) then limits to that site.
    Authenticates no one."""

    def get_user_permissions(self, user_obj, obj=None):
        if obj is not None or not user_obj.is_active:
            return set()
        if getattr(user_obj, "is_site_admin", False):
            return set(SITE_ADMIN_PERMISSIONS)
        return set()

    def has_module_perms(self, user_obj, app_label):
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
