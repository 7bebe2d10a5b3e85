"""The admin's autocomplete and user pages show a site's staff nothing of
another site, whichever model's field asks (the remote model's admin
queryset, ``visible_to``, answers); superusers see every site."""

import pytest
from django.contrib.auth.models import Group

from inventory.models import User
from inventory.permissions import permissions_named
from tests.support.admin import logged_in

AUTOCOMPLETE = "/admin/autocomplete/"

#: Fields with an autocomplete-able remote model: (app, model, field).
SITE_FIELDS = [
    ("inventory", "product", "site_configuration"),
    ("inventory", "user", "site_configuration"),
]


@pytest.fixture
def boss(make_user, sites):
    """Site One's admin, also allowed to see users."""
    boss = make_user("boss", sites[0], permissions=[], is_site_admin=True, is_staff=True)
    boss.user_permissions.set(permissions_named(["inventory.view_user"]))
    return boss


def suggestions(client, app_label, model_name, field_name, term=""):
    response = client.get(
        AUTOCOMPLETE,
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return {row["text"] for row in response.json()["results"]}


@pytest.mark.parametrize("source", SITE_FIELDS)
def test_site_autocomplete_offers_only_the_users_own_site(boss, root, sites, source):
    assert suggestions(logged_in(boss), *source) == {"Site One"}
    assert suggestions(logged_in(boss), *source, term="Two") == set()
    assert suggestions(logged_in(root), *source) == {"Site One", "Site Two"}


def test_user_autocomplete_offers_only_the_users_own_site(boss, root, make_user, sites):
    make_user("neighbour", sites[0])
    make_user("stranger", sites[1])
    source = ("uploads", "uploadticket", "user")

    assert suggestions(logged_in(boss), *source) == {"boss", "neighbour"}
    assert suggestions(logged_in(boss), *source, term="stran") == set()
    assert suggestions(logged_in(root), *source) == {"boss", "neighbour", "stranger", "root"}


def test_site_staff_neither_see_nor_change_a_superuser(boss, sites):
    """A superuser attached to a site is still of every site: its staff may
    not open their account or set their password."""
    chief = User.objects.create_superuser(
        "chief", "chief@example.com", "pw", site_configuration=sites[0]
    )
    boss.user_permissions.add(*permissions_named(["inventory.change_user"]))
    client = logged_in(boss)

    assert "chief" not in client.get("/admin/inventory/user/").content.decode()
    for view in ("change", "password"):
        response = client.get(f"/admin/inventory/user/{chief.pk}/{view}/")
        assert response.status_code in (302, 404), view
    assert client.post(
        f"/admin/inventory/user/{chief.pk}/password/",
        {"password1": "taken-over-42!", "password2": "taken-over-42!"},
    ).status_code in (302, 404)
    chief.refresh_from_db()
    assert chief.check_password("pw")


def test_staff_given_the_users_permissions_cannot_take_over_their_site_admins_account(
    boss, make_user, sites
):
    """Only superusers make site admins and give permissions: staff who may
    change and delete users, but are no site admin, would become one by
    setting a site admin's password, or gain a colleague's permissions by
    setting theirs, and would remove a site admin by deleting their
    account. Colleagues who hold nothing more stay theirs to manage."""
    manager = make_user(
        "manager",
        sites[0],
        permissions=["inventory.view_user", "inventory.change_user", "inventory.delete_user"],
        is_staff=True,
    )
    colleague = make_user("colleague", sites[0], permissions=["inventory.view_user"])
    editor = make_user("editor", sites[0])  # may change products, which the manager may not
    client = logged_in(manager)

    taken_over = client.post(
        f"/admin/inventory/user/{boss.pk}/password/",
        {"password1": "taken-over-42!", "password2": "taken-over-42!"},
    )
    deleted = client.post(f"/admin/inventory/user/{boss.pk}/delete/", {"post": "yes"})
    client.post(
        "/admin/inventory/user/",
        {"action": "delete_selected", "_selected_action": [boss.pk], "post": "yes"},
    )

    editor_taken_over = client.post(
        f"/admin/inventory/user/{editor.pk}/password/",
        {"password1": "taken-over-42!", "password2": "taken-over-42!"},
    )

    assert (taken_over.status_code, deleted.status_code) == (403, 403)
    assert editor_taken_over.status_code == 403
    boss.refresh_from_db()
    editor.refresh_from_db()
    assert boss.check_password("pw") and boss.is_active and editor.check_password("pw")
    # A colleague who holds nothing more stays theirs to manage.
    client.post(
        f"/admin/inventory/user/{colleague.pk}/password/",
        {"password1": "reset-by-42!", "password2": "reset-by-42!"},
    )
    colleague.refresh_from_db()
    assert colleague.check_password("reset-by-42!")


@pytest.mark.parametrize("changelist", ["/admin/inventory/product/", "/admin/inventory/user/"])
def test_only_superusers_have_the_site_column_and_filter(boss, root, changelist):
    """A site's staff have one site: a column and a filter of sites would
    only name theirs (or, filtering, those of other sites' rows)."""
    for user, shown in [(boss, False), (root, True)]:
        response = logged_in(user).get(changelist)
        assert response.status_code == 200
        changelist_view = response.context["cl"]
        assert ("site_configuration" in changelist_view.list_display) is shown
        filters = [spec.field_path for spec in changelist_view.filter_specs]
        assert ("site_configuration" in filters) is shown


def test_staff_given_the_users_permissions_cannot_take_over_a_deactivated_account(make_user, sites):
    """A deactivated account still holds its permissions and its role, and
    gets them back once active: staff who may change users, reactivating
    it with a password of theirs, took what it held (Django gives an
    inactive account no permissions, and the check compared those)."""
    manager = make_user(
        "manager",
        sites[0],
        permissions=["inventory.view_user", "inventory.change_user"],
        is_staff=True,
    )
    former_editor = make_user("former", sites[0], is_staff=True, is_active=False)
    former_boss = make_user(
        "old-boss", sites[0], permissions=[], is_site_admin=True, is_active=False
    )
    client = logged_in(manager)

    for account in (former_editor, former_boss):
        password = client.post(
            f"/admin/inventory/user/{account.pk}/password/",
            {"password1": "taken-over-42!", "password2": "taken-over-42!"},
        )
        change = client.post(
            f"/admin/inventory/user/{account.pk}/change/",
            {
                "username": account.username,
                "is_active": "on",
                "date_joined_0": "2020-01-01",
                "date_joined_1": "00:00:00",
            },
        )

        assert (password.status_code, change.status_code) == (403, 403), account
        account.refresh_from_db()
        assert not account.is_active and account.check_password("pw")


def test_the_user_lists_group_filter_names_no_other_sites_group(boss, root, make_user, sites):
    """Groups are of no site; a site's staff who may see users were offered
    every group in the list's filter, other shops' named after them."""
    ours, theirs, unused = (
        Group.objects.create(name=name) for name in ("Dakar cashiers", "Abidjan cashiers", "Spare")
    )
    make_user("cashier", sites[0]).groups.add(ours)
    make_user("stranger", sites[1]).groups.add(theirs)

    def group_choices(user):
        changelist = logged_in(user).get("/admin/inventory/user/").context["cl"]
        (groups,) = [spec for spec in changelist.filter_specs if spec.field_path == "groups"]
        return {label for _, label in groups.lookup_choices}

    assert group_choices(boss) == {"Dakar cashiers"}
    assert group_choices(root) == {"Dakar cashiers", "Abidjan cashiers"}
    assert unused.name not in logged_in(boss).get("/admin/inventory/user/").content.decode()
