"""Deleting a user in the admin, one or with "delete selected": a superuser,
or a site admin given the users' permissions, deletes a user who has
upload tickets, and is asked for no permission on tickets, which no one
deletes by hand. The tickets stay, without their user, for
``purge_uploads`` (``uploads.models.UploadTicket``; what becomes of their
objects: ``tests/uploads/test_purge.py``), and the confirmed ones' images
stay their products'."""

import pytest
from rest_framework.test import APIClient

from inventory.models import Product, User
from inventory.permissions import permissions_named
from tests.support.admin import logged_in
from tests.support.images import jpeg
from tests.support.stores import LocalStore
from tests.support.tickets import confirm, issue
from uploads.models import PendingDeletion, UploadTicket

USERS = "/admin/inventory/user/"


@pytest.fixture
def store(local_media):
    return LocalStore(local_media)


@pytest.fixture
def product(sites):
    return Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")


@pytest.fixture
def uploader(make_user, sites):
    return make_user("uploader", sites[0])


@pytest.fixture
def boss(make_user, sites):
    """Site One's admin, given the users' permissions."""
    boss = make_user("boss", sites[0], permissions=[], is_site_admin=True, is_staff=True)
    boss.user_permissions.set(permissions_named(["inventory.view_user", "inventory.delete_user"]))
    return boss


@pytest.fixture
def tickets(store, uploader, product):
    """The uploader's tickets: one whose file arrived and was never
    confirmed, and one confirmed, whose image the product shows."""
    api = APIClient()
    api.force_authenticate(uploader)
    waiting, attached = issue(api, product, jpeg()), issue(api, product, jpeg())
    for ticket in (waiting, attached):
        assert store.post(ticket["upload"], jpeg()) in (200, 201, 204)
    assert confirm(api, attached).status_code == 200
    return {"waiting": waiting, "attached": attached}


def delete_one(client, user):
    """The delete page, then its confirmation: (the page, the answer)."""
    page = client.get(f"{USERS}{user.pk}/delete/")
    return page, client.post(f"{USERS}{user.pk}/delete/", {"post": "yes"})


def delete_selected(client, user):
    """The list's "delete selected", then its confirmation."""
    form = {"action": "delete_selected", "_selected_action": [user.pk], "index": 0}
    return client.post(USERS, form), client.post(USERS, {**form, "post": "yes"})


@pytest.mark.parametrize("deleter", ["root", "boss"])
@pytest.mark.parametrize("delete", [delete_one, delete_selected])
def test_an_admin_deletes_a_user_who_has_upload_tickets(
    request, deleter, delete, store, uploader, tickets, product
):
    image = UploadTicket.objects.get(pk=tickets["attached"]["id"]).final_key
    recorded = set(PendingDeletion.objects.values_list("key", flat=True))

    page, answer = delete(logged_in(request.getfixturevalue(deleter)), uploader)

    assert page.status_code == 200
    assert page.context["perms_lacking"] == set()
    assert "upload tickets" not in page.context["model_count"], "not deleted: nothing to ask"
    assert answer.status_code == 302
    assert not User.objects.filter(pk=uploader.pk).exists()
    # Left for purge_uploads, their user gone.
    left = UploadTicket.objects.filter(pk__in=[ticket["id"] for ticket in tickets.values()])
    assert list(left.values_list("user", flat=True)) == [None, None]
    product.refresh_from_db()
    assert "media/" + product.image.name == image
    assert image in store.keys()
    assert tickets["waiting"]["upload"]["fields"]["key"] in store.keys()
    assert set(PendingDeletion.objects.values_list("key", flat=True)) == recorded
    assert image not in recorded


def test_staff_still_cannot_delete_the_users_tickets_by_hand(root, tickets):
    """What lets the user go is not a permission on tickets."""
    client = logged_in(root)
    ticket = tickets["waiting"]["id"]

    page = client.get(f"/admin/uploads/uploadticket/{ticket}/delete/")
    deleted = client.post(f"/admin/uploads/uploadticket/{ticket}/delete/", {"post": "yes"})
    selected = client.post(
        "/admin/uploads/uploadticket/",
        {"action": "delete_selected", "_selected_action": [ticket], "post": "yes"},
    )

    assert (page.status_code, deleted.status_code) == (403, 403)
    assert selected.status_code == 302  # no such action: "No action selected."
    assert UploadTicket.objects.filter(pk=ticket).exists()
