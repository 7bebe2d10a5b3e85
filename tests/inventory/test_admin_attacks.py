"""Attacks on the admin by a site's own staff: a site admin, or staff given
some of the admin's permissions by a superuser, reaching what is not their
site's, or more than their permissions give them. Each test is an attack:
most once worked; the last ones never did, and are kept failing. Other
attacks on the admin sit with what they attack: ``test_admin_scope.py``
(users), ``test_admin_uploads.py`` (the upload widget),
``tests/project/test_admin_bad_input.py`` (what the database fails on)."""

import pytest
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from inventory.models import Configuration, Product, User
from inventory.permissions import permissions_named
from project.admin import ProjectAdminSite
from tests.support.admin import logged_in
from tests.support.renditions import default_rendition_name, set_renditions


def every_permission_of(model):
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    return Permission.objects.filter(content_type=content_type)


def unscoped_admins():
    """The admins of models that no site scoping reaches: Django's groups,
    DRF's tokens, django-tasks' results, django-axes' records."""
    return [
        model_admin
        for model_admin in admin.site._registry.values()
        if not getattr(model_admin, "site_scoped", False)
    ]


def test_the_admins_that_know_no_site_are_known():
    """What the next test covers: a package adding an admin is in it."""
    labels = {model_admin.model._meta.label for model_admin in unscoped_admins()}
    assert {"auth.Group", "authtoken.TokenProxy", "axes.AccessAttempt"} <= labels


@pytest.mark.parametrize(
    "model_admin", unscoped_admins(), ids=lambda model_admin: model_admin.model._meta.label
)
def test_an_admin_that_knows_no_site_is_for_superusers_alone(model_admin, make_user, sites, root):
    """Every site's rows are in it (every user's token, every site's task
    results and login records, groups that any site's staff may share):
    staff given its permissions by a superuser would see and change them
    all. Nothing of it is offered to them, whatever they hold."""
    assert_for_superusers_alone(model_admin, make_user("given", sites[0], is_staff=True), root)


def assert_for_superusers_alone(model_admin, staff, root):
    """Nothing of ``model_admin`` is offered to ``staff``, given every
    permission of its model; ``root`` has it."""
    staff.user_permissions.set(every_permission_of(model_admin.model))
    staff = User.objects.get(pk=staff.pk)
    request = RequestFactory().get("/admin/")
    request.user = staff

    assert not model_admin.has_module_permission(request)
    assert not model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    # Superusers keep it, as its package made it (some are read only).
    request.user = root
    assert model_admin.has_module_permission(request)
    assert model_admin.has_view_permission(request)


def registered_again(site):
    """Group's admin, taken back from the registry and registered again, as
    a project restoring it after replacing it does."""
    taken_back = type(site.get_model_admin(Group))
    site.unregister(Group)
    site.register(Group, taken_back)


def registered_subclassed(site):
    """A subclass of the registered admin, registered in its place."""
    extended = type("ExtendedGroupAdmin", (type(site.get_model_admin(Group)),), {})
    site.unregister(Group)
    site.register(Group, extended)


def registered_without_a_class(site):
    site.unregister(Group)
    site.register(Group)


def registered_with_options(site):
    site.unregister(Group)
    site.register(Group, search_fields=["name"])


@pytest.mark.parametrize(
    "register",
    [registered_again, registered_subclassed, registered_without_a_class, registered_with_options],
)
def test_however_an_admin_is_registered_it_stays_for_superusers_alone(
    register, make_user, sites, root
):
    """The admin site wraps at registration: an admin class taken back from
    the registry (or a subclass of it) is wrapped already, and wrapping it
    again raised a TypeError (no consistent method resolution order) at
    start-up; with no class, or with options, Django's ModelAdmin is."""
    site = ProjectAdminSite(name="registered")
    site.register(Group, GroupAdmin)

    register(site)

    assert_for_superusers_alone(
        site.get_model_admin(Group), make_user("given", sites[0], is_staff=True), root
    )


def test_staff_given_the_tokens_view_permission_see_no_token(make_user, sites, root):
    """The token list showed every user's key, a superuser's included: a
    login as them on the API."""
    key = Token.objects.create(user=root).key
    staff = make_user("given", sites[0], permissions=["authtoken.view_tokenproxy"], is_staff=True)
    client = logged_in(staff)

    response = client.get("/admin/authtoken/tokenproxy/")

    assert response.status_code == 403
    assert key not in response.content.decode()
    assert "/admin/authtoken/" not in client.get("/admin/").content.decode()


def test_staff_given_the_groups_permissions_cannot_give_their_group_more(make_user, sites):
    """Groups are of no site, and their permissions are users'
    permissions, which only superusers give: staff who could change groups
    gave their own group whatever they lacked."""
    staff = make_user(
        "given",
        sites[0],
        permissions=["auth.view_group", "auth.change_group", "auth.add_group"],
        is_staff=True,
    )
    group = Group.objects.create(name="cashiers")
    staff.groups.add(group)
    wanted = permissions_named(["inventory.delete_product", "authtoken.view_tokenproxy"])
    client = logged_in(staff)

    changed = client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "cashiers", "permissions": [p.pk for p in wanted]},
    )
    added = client.post("/admin/auth/group/add/", {"name": "more"})

    assert (changed.status_code, added.status_code) == (403, 403)
    assert not group.permissions.exists()
    assert not Group.objects.filter(name="more").exists()
    assert not User.objects.get(pk=staff.pk).has_perm("inventory.delete_product")


def test_staff_who_may_only_see_get_no_original_on_the_admins_read_only_page(make_user, sites):
    """The admin's read-only page (view permission, not change) showed the
    photo's and the logo's file fields as links to the files: the originals,
    bytes as their uploaders sent them (metadata, a location), which only
    those who answer for the site get (``can_see_originals``). The pages
    and the API give those staff the renditions; so does the admin now."""
    site = sites[0]
    photo, logo = f"sites/{site.pk}/products/original.jpg", f"sites/{site.pk}/config/logo.png"
    product = Product.objects.create(site_configuration=site, name="Riz", cug="R1", image=photo)
    Configuration.objects.filter(pk=site.pk).update(logo=logo)
    set_renditions(photo, "ready")
    viewer = make_user(
        "viewer",
        site,
        permissions=["inventory.view_product", "inventory.view_configuration"],
        is_staff=True,
    )
    client = logged_in(viewer)

    product_page = client.get(f"/admin/inventory/product/{product.pk}/change/")
    site_page = client.get(f"/admin/inventory/configuration/{site.pk}/change/")

    assert (product_page.status_code, site_page.status_code) == (200, 200)
    assert photo not in product_page.content.decode()
    assert logo not in site_page.content.decode()
    assert default_rendition_name(photo, "display") in product_page.content.decode()
    assert "being prepared" in site_page.content.decode(), "the logo's renditions, once made"


@pytest.mark.parametrize(
    "value",
    [
        "sites/{theirs}/products/theirs.jpg",
        "media/sites/{theirs}/products/theirs.jpg",
        "sites/{ours}/products/../../{theirs}/products/theirs.jpg",
        "{{'ticket': 'x'}}",
    ],
)
def test_a_key_in_place_of_the_widgets_ticket_is_refused(make_user, sites, value):
    """The form's image field carries a ticket's id, never a name: another
    site's photo named there, plainly or by a ``../`` spelling, is no
    ticket, and the product keeps its photo."""
    ours, theirs = sites
    photo = f"sites/{ours.pk}/products/ours.jpg"
    product = Product.objects.create(site_configuration=ours, name="Riz", cug="R1", image=photo)
    boss = make_user("boss", ours, permissions=[], is_site_admin=True, is_staff=True)

    response = logged_in(boss).post(
        f"/admin/inventory/product/{product.pk}/change/",
        {
            "name": "Riz",
            "cug": "R1",
            "price": "1",
            "quantity": "1",
            "image": value.format(ours=ours.pk, theirs=theirs.pk),
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"]
    product.refresh_from_db()
    assert product.image.name == photo


def test_staff_adding_a_user_set_none_of_what_only_superusers_set(make_user, sites):
    """The add form's hidden or removed fields, sent anyway: the new
    account is a plain member of the staff's own site."""
    ours, theirs = sites
    manager = make_user(
        "manager",
        ours,
        permissions=["inventory.view_user", "inventory.add_user", "inventory.change_user"],
        is_staff=True,
    )
    group = Group.objects.create(name="cashiers")
    wanted = permissions_named(["inventory.delete_product", "auth.change_group"])

    response = logged_in(manager).post(
        "/admin/inventory/user/add/",
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "Long-enough-42!",
            "password2": "Long-enough-42!",
            "is_superuser": "on",
            "is_staff": "on",
            "is_site_admin": "on",
            "site_configuration": theirs.pk,
            "groups": [group.pk],
            "user_permissions": [p.pk for p in wanted],
        },
    )

    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    assert newcomer.site_configuration == ours
    assert not (newcomer.is_superuser or newcomer.is_staff or newcomer.is_site_admin)
    assert not newcomer.groups.exists() and not newcomer.user_permissions.exists()
