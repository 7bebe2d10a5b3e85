"""Tickets for an object not created yet (the admin's add form): issued for
the user's site, confirmed only by the save that creates the object, once,
by that user (uploads.services)."""

import pytest
from django.db import transaction

from inventory.models import Product
from tests.support.images import png
from tests.support.stores import LocalStore
from uploads import services
from uploads.errors import NotFound
from uploads.models import UploadTicket


def ask(client, **request):
    body = {"kind": "product", "content_type": "image/png", "size": 100, "new": True}
    body.update(request)
    return client.post("/api/uploads/tickets/", body, content_type="application/json")


@pytest.fixture
def staff(sites, make_user):
    return make_user("staff", sites[0])


def test_a_new_objects_key_is_in_the_users_site_folder(client, staff, sites):
    client.force_login(staff)

    answer = ask(client)

    assert answer.status_code == 201, answer.json()
    assert answer.json()["object_id"] is None
    key = answer.json()["upload"]["fields"]["key"]
    assert key.startswith(f"media/sites/{sites[0].pk}/products/incoming/")


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        ({"object_id": 1}, 400, "invalid"),  # a new object has no id
        ({"kind": "logo"}, 404, "not_found"),  # a site is never created with its logo
    ],
)
def test_what_a_new_objects_ticket_cannot_be(client, staff, request_, status, code):
    client.force_login(staff)

    answer = ask(client, **request_)

    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_only_users_who_may_add_products_get_one(client, sites, make_user):
    client.force_login(make_user("viewer", sites[0], permissions=["inventory.view_product"]))

    assert ask(client).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_only_its_user_of_the_same_site_binds_it_to_a_product_of_that_site(
    client, staff, sites, make_user, local_media
):
    body = png()
    client.force_login(staff)
    ticket = ask(client, size=len(body)).json()
    assert LocalStore(local_media).post(ticket["upload"], body, file_type="image/png") == 204
    colleague = make_user("colleague", sites[0])

    with pytest.raises(NotFound):
        services.prepare_confirm(colleague, ticket["id"], kind="product", object_id=None)
    with pytest.raises(NotFound):  # not a ticket for an existing product
        services.prepare_confirm(staff, ticket["id"], kind="product", object_id=1)
    staff.site_configuration = sites[1]
    staff.save()
    with pytest.raises(NotFound):  # the user now works for another site
        services.prepare_confirm(staff, ticket["id"], kind="product", object_id=None)
    staff.site_configuration = sites[0]
    staff.save()

    prepared = services.prepare_confirm(staff, ticket["id"], kind="product", object_id=None)
    abroad = Product.objects.create(site_configuration=sites[1], name="Mil", cug="M-1")
    with pytest.raises(NotFound), transaction.atomic():  # in the caller's transaction
        services.attach_prepared(prepared, staff, abroad)
    with transaction.atomic():
        product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
        confirmed = services.attach_prepared(prepared, staff, product)

    assert (confirmed.status, confirmed.object_id) == ("confirmed", product.pk)
    product.refresh_from_db()
    assert product.image.name == confirmed.final_key.removeprefix("media/")
    assert UploadTicket.objects.get().object_id == product.pk
    # Once: bound now, it is no new object's ticket any more.
    with pytest.raises(NotFound):
        services.prepare_confirm(staff, ticket["id"], kind="product", object_id=None)


@pytest.fixture
def prepared(client, staff, local_media):
    """A new object's ticket, its upload inspected and copied to its final
    key, as the admin's form does before its save."""
    body = png()
    client.force_login(staff)
    ticket = ask(client, size=len(body)).json()
    assert LocalStore(local_media).post(ticket["upload"], body, file_type="image/png") == 204
    return services.prepare_confirm(staff, ticket["id"], kind="product", object_id=None)


@pytest.mark.django_db(transaction=True)
def test_giving_up_a_save_that_attached_keeps_its_copy(prepared, staff, sites, local_media):
    with transaction.atomic():
        product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
        services.attach_prepared(prepared, staff, product)

    # The admin gives up every prepared upload once its transaction ended.
    services.abandon_prepared(prepared)

    assert prepared.ticket.final_key in LocalStore(local_media).keys()
    assert UploadTicket.objects.get().status == UploadTicket.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_giving_up_a_save_that_did_not_attach_deletes_its_copy(prepared, staff, sites, local_media):
    with pytest.raises(RuntimeError), transaction.atomic():
        product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
        services.attach_prepared(prepared, staff, product)
        raise RuntimeError("the save failed after the attachment")

    services.abandon_prepared(prepared)

    assert prepared.ticket.final_key not in LocalStore(local_media).keys()
    row = UploadTicket.objects.get()
    assert (row.status, row.final_key) == (UploadTicket.Status.ISSUED, ""), "usable again"


@pytest.mark.django_db(transaction=True)
def test_giving_up_a_claim_another_confirm_attached_deletes_this_copy(prepared, staff, local_media):
    # This save's claim lapsed; another confirm took it over, copied the
    # upload to a key of its own and attached it.
    UploadTicket.objects.filter(pk=prepared.ticket.pk).update(
        status=UploadTicket.Status.CONFIRMED, final_key="media/sites/1/products/other.png"
    )

    services.abandon_prepared(prepared)

    assert prepared.ticket.final_key not in LocalStore(local_media).keys()


@pytest.mark.parametrize("role", ["staff", "site admin"])
def test_nobody_but_a_superuser_gets_one_for_another_site(client, sites, make_user, role):
    """Naming another site, in the session or the URL, is nothing to a user
    of one site: their ticket is of their own site. Handed another site by
    a caller, the service refuses it, as not found."""
    from inventory.sites import SESSION_KEY

    one, two = sites
    user = make_user("someone", one, is_site_admin=role == "site admin")
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = two.pk
    session.save()

    for path in ("/api/uploads/tickets/", f"/api/uploads/tickets/?site={two.pk}"):
        answer = client.post(
            path,
            {"kind": "product", "content_type": "image/png", "size": 100, "new": True},
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.json()
        key = answer.json()["upload"]["fields"]["key"]
        assert key.startswith(f"media/sites/{one.pk}/products/incoming/"), path
    assert set(UploadTicket.objects.values_list("site_id", flat=True)) == {one.pk}

    with pytest.raises(NotFound):
        services.issue_ticket(
            user, kind="product", content_type="image/png", size=100, new=True, site_id=two.pk
        )


def test_a_superuser_names_the_site_in_the_url(client, sites, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(root)
    body = {"kind": "product", "content_type": "image/png", "size": 100, "new": True}

    def ask_at(query):
        return client.post(f"/api/uploads/tickets/{query}", body, content_type="application/json")

    assert ask_at("").json()["code"] == "not_found"  # no site chosen, none of their own
    answer = ask_at(f"?site={sites[1].pk}")
    assert answer.json()["upload"]["fields"]["key"].startswith(f"media/sites/{sites[1].pk}/")
    assert (ask_at("?site=two").status_code, ask_at("?site=two").json()["code"]) == (400, "invalid")
    assert ask_at("?site=99999").status_code == 404
