"""Who may see, add, change and delete products, and change a site: one rule
(``inventory.permissions``, the README's table), the same on every path:
the pages, the API, the admin and the upload tickets.

And the admin shows a site's users nothing of another site: not its name in
a list filter, a site field or an autocomplete, nor its rows in counts, nor
anything in error messages or history that tells its rows from missing ones.
"""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from inventory.models import Configuration, Product, User
from inventory.permissions import can_act_on_products, can_manage_site

STAFF_WITHOUT = "staff without permissions"
STAFF = "staff with the staff permissions"
SITE_ADMIN = "site admin"
SUPERUSER = "superuser"
ROLES = [STAFF_WITHOUT, STAFF, SITE_ADMIN, SUPERUSER]

#: The README's table: what each role may do.
MAY = {
    "view": {STAFF_WITHOUT: False, STAFF: True, SITE_ADMIN: True, SUPERUSER: True},
    "add": {STAFF_WITHOUT: False, STAFF: True, SITE_ADMIN: True, SUPERUSER: True},
    "change": {STAFF_WITHOUT: False, STAFF: True, SITE_ADMIN: True, SUPERUSER: True},
    "delete": {STAFF_WITHOUT: False, STAFF: False, SITE_ADMIN: True, SUPERUSER: True},
    "site": {STAFF_WITHOUT: False, STAFF: False, SITE_ADMIN: True, SUPERUSER: True},
}


@pytest.fixture
def shop(sites):
    """Site One with a product, and Site Two (another shop) with one."""
    one, two = sites
    return {
        "site": one,
        "product": Product.objects.create(site_configuration=one, name="Riz", cug="R1"),
        "other_site": two,
        "foreign": Product.objects.create(site_configuration=two, name="Attiéké", cug="A1"),
    }


@pytest.fixture
def user_of(make_user, shop):
    """A user of Site One in ``role``, allowed into the admin."""

    def make(role):
        if role == SUPERUSER:
            return User.objects.create_superuser("root", "root@example.com", "pw")
        if role == SITE_ADMIN:
            return make_user(
                "boss", shop["site"], permissions=[], is_site_admin=True, is_staff=True
            )
        if role == STAFF:
            return make_user("staff", shop["site"], is_staff=True)
        return make_user("bare", shop["site"], permissions=[], is_staff=True)

    return make


def expected(action, role, allowed, denied):
    return allowed if MAY[action][role] else denied


def api_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


# The regression of issue 13: a 204 for staff with no model permissions.


def test_staff_without_permissions_cannot_delete_a_product_through_the_api(user_of, shop):
    api = api_client(user_of(STAFF_WITHOUT))

    response = api.delete(f"/api/products/{shop['product'].pk}/")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert Product.objects.filter(pk=shop["product"].pk).exists()


def test_a_permission_given_to_staff_counts_as_a_site_admins_role_does(make_user, shop):
    """The rule is the permission, not the role: staff given delete_product
    may delete, as a site admin may."""
    deleter = make_user(
        "deleter", shop["site"], permissions=["inventory.delete_product", "inventory.view_product"]
    )
    response = api_client(deleter).delete(f"/api/products/{shop['product'].pk}/")
    assert response.status_code == 204


@pytest.mark.parametrize("role", ROLES)
def test_api_products_follow_the_rule(user_of, shop, role):
    api = api_client(user_of(role))
    site = f"?site={shop['site'].pk}"  # superusers name the site; others' is theirs
    product = shop["product"]

    listing = api.get(f"/api/products/{site}")
    assert listing.status_code == expected("view", role, 200, 403)
    if listing.status_code == 403:
        assert listing.json() == {
            "code": "permission_denied",
            "detail": "Votre compte n'a pas le droit de voir les produits.",
        }
    assert api.get(f"/api/products/{product.pk}/{site}").status_code == expected(
        "view", role, 200, 403
    )
    created = api.post(f"/api/products/{site}", {"name": "Sucre", "cug": "S1"}, format="json")
    assert created.status_code == expected("add", role, 201, 403)
    changed = api.patch(f"/api/products/{product.pk}/{site}", {"quantity": 7}, format="json")
    assert changed.status_code == expected("change", role, 200, 403)
    replaced = api.put(
        f"/api/products/{product.pk}/{site}", {"name": "Riz", "cug": "R1"}, format="json"
    )
    assert replaced.status_code == expected("change", role, 200, 403)
    deleted = api.delete(f"/api/products/{product.pk}/{site}")
    assert deleted.status_code == expected("delete", role, 204, 403)
    assert Product.objects.filter(pk=product.pk).exists() != MAY["delete"][role]


@pytest.mark.parametrize("role", ROLES)
def test_api_site_settings_follow_the_rule(user_of, shop, role):
    api = api_client(user_of(role))
    site = f"?site={shop['site'].pk}"

    assert api.get(f"/api/site/{site}").status_code == 200, "every user of a site sees its name"
    response = api.patch(f"/api/site/{site}", {"city": "Thiès"}, format="json")

    assert response.status_code == expected("site", role, 200, 403)
    shop["site"].refresh_from_db()
    assert (shop["site"].city == "Thiès") == MAY["site"][role]


@pytest.mark.parametrize("role", ROLES)
def test_pages_follow_the_rule(user_of, shop, role):
    client = page_client(user_of(role))
    site = f"?site={shop['site'].pk}"  # superusers name the site; others' is theirs
    product = shop["product"]

    listing = client.get(f"/{site}")
    assert listing.status_code == expected("view", role, 200, 403)
    if listing.status_code == 403:
        assert (
            "Votre compte n&#x27;a pas le droit de voir les produits." in listing.content.decode()
        )
    else:
        # The button shows to those who may use it.
        assert ("/products/new/" in listing.content.decode()) == MAY["add"][role]
    page = client.get(f"/products/{product.pk}/{site}")
    assert page.status_code == expected("view", role, 200, 403)
    assert client.get(f"/products/new/{site}").status_code == expected("add", role, 200, 403)
    created = client.post(
        f"/products/new/{site}", {"name": "Sucre", "cug": "S1", "price": 1, "quantity": 1}
    )
    assert created.status_code == expected("add", role, 302, 403)
    assert Product.objects.filter(cug="S1").exists() == MAY["add"][role]
    changed = client.post(
        f"/products/{product.pk}/{site}",
        {"name": "Riz long", "cug": "R1", "price": 1, "quantity": 1},
    )
    assert changed.status_code == expected("change", role, 302, 403)
    product.refresh_from_db()
    assert (product.name == "Riz long") == MAY["change"][role]


def test_a_product_page_is_read_only_to_those_who_may_only_see(make_user, shop):
    viewer = make_user("viewer", shop["site"], permissions=["inventory.view_product"])
    client = page_client(viewer)

    page = client.get(f"/products/{shop['product'].pk}/").content.decode()

    assert "data-picker" not in page.replace("data-picker-form", "")
    assert 'type="submit">Save' not in page and "Enregistrer" not in page
    assert re.search(r'<input[^>]*name="name"[^>]*disabled', page)
    changed = client.post(f"/products/{shop['product'].pk}/", {"name": "X", "cug": "R1"})
    assert changed.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_site_settings_page_follows_the_rule(user_of, shop, role):
    client = page_client(user_of(role))
    site = f"?site={shop['site'].pk}"

    home = client.get(f"/products/{shop['product'].pk}/{site}").content.decode()
    assert ('href="/site/' in home) == MAY["site"][role], "the link shows to those it serves"
    assert client.get(f"/site/{site}").status_code == expected("site", role, 200, 403)
    response = client.post(
        f"/site/{site}", {"site_name": "Site One", "city": "Thiès", "currency": "XOF"}
    )
    assert response.status_code == expected("site", role, 302, 403)


def test_the_permission_to_change_the_site_counts_on_every_path(make_user, shop):
    """Staff given change_configuration manage their site as a site admin
    does, on the page, in the API, in the admin and for the logo; the role
    is a bundle of permissions, not a second rule."""
    manager = make_user(
        "manager", shop["site"], permissions=["inventory.change_configuration"], is_staff=True
    )
    client, api = page_client(manager), api_client(manager)
    site = shop["site"]

    assert client.get("/site/").status_code == 200
    assert api.patch("/api/site/", {"city": "Thiès"}, format="json").status_code == 200
    admin_form = client.post(
        f"/admin/inventory/configuration/{site.pk}/change/",
        {"site_name": "Site One", "city": "Kaolack", "currency": "XOF"},
    )
    assert admin_form.status_code == 302
    site.refresh_from_db()
    assert site.city == "Kaolack"
    logo = api.post("/api/uploads/tickets/", ticket("logo", site.pk), format="json")
    assert logo.status_code == 201


@pytest.mark.parametrize("role", ROLES)
def test_admin_follows_the_rule(user_of, shop, role):
    client = page_client(user_of(role))
    product = shop["product"]
    base = "/admin/inventory/product/"

    assert client.get(base).status_code == expected("view", role, 200, 403)
    assert client.get(f"{base}{product.pk}/change/").status_code == expected("view", role, 200, 403)
    added = client.post(
        f"{base}add/",
        {
            "name": "Sucre",
            "cug": "S1",
            "price": 1,
            "quantity": 1,
            "site_configuration": shop["site"].pk,
        },
    )
    assert added.status_code == expected("add", role, 302, 403)
    assert Product.objects.filter(cug="S1").exists() == MAY["add"][role]
    changed = client.post(
        f"{base}{product.pk}/change/",
        {
            "name": "Riz long",
            "cug": "R1",
            "price": 1,
            "quantity": 1,
            "site_configuration": shop["site"].pk,
        },
    )
    product.refresh_from_db()
    assert (product.name == "Riz long") == MAY["change"][role], changed.status_code
    deleted = client.post(f"{base}{product.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == expected("delete", role, 302, 403)
    assert Product.objects.filter(pk=product.pk).exists() != MAY["delete"][role]

    site_form = client.post(
        f"/admin/inventory/configuration/{shop['site'].pk}/change/",
        {"site_name": "Site One", "city": "Thiès", "currency": "XOF"},
    )
    shop["site"].refresh_from_db()
    assert (shop["site"].city == "Thiès") == MAY["site"][role], site_form.status_code


def ticket(kind, object_id):
    return {
        "kind": kind,
        "object_id": object_id,
        "filename": "photo.jpg" if kind == "product" else "logo.png",
        "content_type": "image/jpeg" if kind == "product" else "image/png",
        "size": 1000,
    }


@pytest.mark.parametrize("role", ROLES)
def test_upload_tickets_follow_the_rule(user_of, shop, role):
    api = api_client(user_of(role))

    photo = api.post("/api/uploads/tickets/", ticket("product", shop["product"].pk), format="json")
    assert photo.status_code == expected("change", role, 201, 403), "a new photo changes a product"
    logo = api.post("/api/uploads/tickets/", ticket("logo", shop["site"].pk), format="json")
    assert logo.status_code == expected("site", role, 201, 403)


@pytest.mark.parametrize("role", [STAFF, SITE_ADMIN])
def test_nobody_but_a_superuser_reaches_another_site(user_of, shop, role):
    api = api_client(user_of(role))
    foreign = shop["foreign"].pk
    for method in ("get", "patch", "delete"):
        response = getattr(api, method)(f"/api/products/{foreign}/", {}, format="json")
        # Not found, as a missing product; or refused, as any product is.
        allowed = MAY["change" if method == "patch" else method.replace("get", "view")][role]
        assert response.status_code == (404 if allowed else 403), method
    photo = api.post("/api/uploads/tickets/", ticket("product", foreign), format="json")
    assert photo.status_code == 404
    logo = api.post("/api/uploads/tickets/", ticket("logo", shop["other_site"].pk), format="json")
    assert logo.status_code == 404
    assert Product.objects.filter(pk=foreign).exists()


# Nothing of another site in the admin.


@pytest.fixture
def site_admin_in_admin(user_of):
    return page_client(user_of(SITE_ADMIN))


def test_admin_product_list_names_and_counts_no_other_site(site_admin_in_admin, shop):
    Product.objects.create(site_configuration=shop["other_site"], name="Cacao", cug="C1")

    # With the facets (counts beside each filter choice) shown, and a search.
    response = site_admin_in_admin.get("/admin/inventory/product/?_facets=1&q=R")
    page = response.content.decode()

    assert "Riz" in page
    assert "Site Two" not in page and "Attiéké" not in page
    assert "site_configuration" not in page, "no filter or column by site"
    changelist = response.context["cl"]
    assert (changelist.result_count, changelist.full_result_count) == (1, 1)


def test_admin_cug_errors_speak_of_the_users_own_site_only(site_admin_in_admin, shop):
    """A CUG taken in one's own site is a form error (it was a 500); the
    same CUG as another site's product is accepted, revealing nothing."""
    add = "/admin/inventory/product/add/"
    fields = {"name": "X", "price": 1, "quantity": 1}

    taken = site_admin_in_admin.post(add, {**fields, "cug": "R1"})
    assert taken.status_code == 200
    assert taken.context["adminform"].form.non_field_errors() == [
        "Ce site a déjà un produit avec ce CUG."
    ]
    elsewhere = site_admin_in_admin.post(add, {**fields, "cug": "A1"})
    assert elsewhere.status_code == 302
    assert Product.objects.get(cug="A1", site_configuration=shop["site"])


def test_admin_user_pages_name_no_other_site(make_user, shop):
    """Staff given the users' permissions see their own site's users, and
    cannot move anyone, themselves included, to another site, nor make a
    superuser or a site admin."""
    make_user("stranger", shop["other_site"])
    manager = make_user(
        "manager",
        shop["site"],
        permissions=["inventory.view_user", "inventory.change_user"],
        is_staff=True,
    )
    client = page_client(manager)

    listing = client.get("/admin/inventory/user/").content.decode()
    assert "manager" in listing
    assert "stranger" not in listing and "Site Two" not in listing
    form = client.get(f"/admin/inventory/user/{manager.pk}/change/").content.decode()
    assert "Site Two" not in form
    client.post(
        f"/admin/inventory/user/{manager.pk}/change/",
        {
            "username": "manager",
            "site_configuration": shop["other_site"].pk,
            "is_superuser": "on",
            "is_site_admin": "on",
            "is_staff": "on",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    manager.refresh_from_db()
    assert manager.site_configuration == shop["site"]
    assert not manager.is_superuser and not manager.is_site_admin


def test_admin_autocomplete_names_no_other_site(site_admin_in_admin, shop):
    response = site_admin_in_admin.get(
        "/admin/autocomplete/",
        {"app_label": "inventory", "model_name": "product", "field_name": "site_configuration"},
    )
    assert "Site Two" not in response.content.decode()


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_admin_answers_for_another_sites_product_as_for_a_missing_one(
    site_admin_in_admin, shop, view
):
    foreign = shop["foreign"].pk
    missing = Product.objects.order_by("-pk").first().pk + 100

    answers = []
    for pk in (foreign, missing):
        response = site_admin_in_admin.get(f"/admin/inventory/product/{pk}/{view}/", follow=True)
        messages = [
            str(message).replace(str(pk), "<id>") for message in response.context["messages"]
        ]
        answers.append((response.redirect_chain, response.status_code, messages))
        assert "Attiéké" not in response.content.decode()

    assert answers[0] == answers[1]


def test_admin_site_list_shows_only_the_users_site(site_admin_in_admin, shop):
    page = site_admin_in_admin.get("/admin/inventory/configuration/").content.decode()
    assert "Site One" in page and "Site Two" not in page
    other = site_admin_in_admin.get(
        f"/admin/inventory/configuration/{shop['other_site'].pk}/change/", follow=True
    )
    assert "Site Two" not in other.content.decode()


def test_demo_users_may_do_what_the_readme_says(db):
    """dakar-staff sees, adds and changes products (their photos too);
    dakar-admin also deletes them and changes the shop's settings and logo."""
    from inventory.management.commands.seed_demo import Command

    Command().seed_rows("pw")
    site = Configuration.objects.get(site_name="Boutique Dakar")
    product = site.products.first()
    staff = User.objects.get(username="dakar-staff")
    admin = User.objects.get(username="dakar-admin")

    for action in ("view", "add", "change"):
        assert can_act_on_products(staff, action, product), action
        assert can_act_on_products(admin, action, product), action
    assert not can_act_on_products(staff, "delete", product)
    assert can_act_on_products(admin, "delete", product)
    assert not can_manage_site(staff, site)
    assert can_manage_site(admin, site)
    abidjan = Configuration.objects.get(site_name="Boutique Abidjan")
    assert not can_manage_site(admin, abidjan)
    assert not can_act_on_products(admin, "delete", abidjan.products.first())


def test_the_one_query_backend_reads_the_permissions_django_reads(make_user, shop):
    """``OneQueryModelBackend`` reads own and group permissions in one
    statement written once per process: each user gets what Django's
    ``ModelBackend`` gives them, not the first user's."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.permissions import OneQueryModelBackend, permissions_named

    editors = Group.objects.create(name="editors")
    editors.permissions.set(permissions_named(["inventory.delete_product"]))
    users = [
        make_user("own", shop["site"]),
        make_user("none", shop["site"], permissions=[]),
        make_user("grouped", shop["site"], permissions=[]),
        make_user("both", shop["site"], permissions=["inventory.view_configuration"]),
        User.objects.create_superuser("root", "root@example.com", "pw"),
    ]
    for user in users[2:4]:
        user.groups.add(editors)

    for user in [*users, *users]:
        user = User.objects.get(pk=user.pk)  # nothing cached on it
        with CaptureQueriesContext(connection) as queries:
            ours = OneQueryModelBackend().get_all_permissions(user)
        assert len(queries) == 1
        assert ours == ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
    assert "inventory.delete_product" in ours
