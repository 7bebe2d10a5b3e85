"""The admin's direct-upload widget: the form's save confirms the ticket the
widget put in it (inventory.admin_uploads), in both storage modes."""

import threading
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from inventory.admin import ProductAdmin
from inventory.models import Configuration, Product
from tests.support.images import jpeg, png
from tests.support.renditions import default_rendition_name
from tests.support.stores import store_of
from tests.support.tickets import sha256_b64
from uploads.models import PendingDeletion, UploadTicket


@pytest.fixture
def store(storage_mode, request):
    return store_of(storage_mode, request)


@pytest.fixture
def shop(sites, make_user):
    site = sites[0]
    return {
        "site": site,
        "staff": make_user("staff", site, is_staff=True),
        "product": Product.objects.create(site_configuration=site, name="Riz", cug="R-1"),
    }


def uploaded(
    client, store, body, *, product=None, kind="product", content_type="image/png", site=None
):
    """A ticket issued through the API with the admin's session, its file
    posted to the store, unconfirmed: what the widget leaves in the form
    (for a new product, of the ``site`` its form names, as ``?site=``)."""
    request = {"kind": kind, "content_type": content_type, "size": len(body)}
    request["sha256"] = sha256_b64(body)
    if product is None:
        request["new"] = True
    else:
        request["object_id"] = product.pk
    path = "/api/uploads/tickets/" + (f"?site={site.pk}" if site is not None else "")
    response = client.post(path, request, content_type="application/json")
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert store.post(ticket["upload"], body, file_type=content_type) in (200, 201, 204)
    return ticket["id"]


def change_form(product, **changes):
    data = {
        "name": product.name,
        "cug": product.cug,
        "price": "0",
        "quantity": "0",
        "image": "",
    }
    data.update(changes)
    return data


def save_with_image(client, store, product, body=None, content_type="image/png", **changes):
    """The change form saved with a new image, as the widget leaves it."""
    ticket = uploaded(client, store, body or png(), product=product, content_type=content_type)
    response = client.post(change_url(product), change_form(product, image=ticket, **changes))
    assert response.status_code == 302
    product.refresh_from_db()


def change_url(product):
    return f"/admin/inventory/product/{product.pk}/change/"


@pytest.mark.django_db(transaction=True)
@pytest.mark.renditions
def test_saving_the_form_attaches_the_upload(client, shop, store):
    product = shop["product"]
    client.force_login(shop["staff"])
    ticket = uploaded(client, store, png((80, 60)), product=product)

    response = client.post(change_url(product), change_form(product, name="Riz long", image=ticket))

    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.name == "Riz long"
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    assert UploadTicket.objects.get().status == "confirmed"
    assert store.keys() == ["media/" + product.image.name], "the incoming object went after commit"
    page = client.get(change_url(product)).content.decode()
    shown = default_rendition_name(product.image.name, "display")
    assert f"/media/{shown}" in page, "the new image shows, as its display rendition"
    assert f"/media/{product.image.name}" not in page, "never the original"


@pytest.mark.django_db(transaction=True)
def test_a_replaced_image_is_deleted_after_commit_and_clear_removes_it(client, shop, store):
    product = shop["product"]
    client.force_login(shop["staff"])
    save_with_image(client, store, product)
    first = product.image.name
    save_with_image(client, store, product, jpeg(), "image/jpeg")
    assert product.image.name != first
    assert store.keys() == ["media/" + product.image.name]

    client.post(change_url(product), change_form(product, **{"image-clear": "on"}))

    product.refresh_from_db()
    assert not product.image
    assert store.keys() == []
    assert not PendingDeletion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_save_without_an_upload_keeps_the_image(client, shop, store):
    product = shop["product"]
    client.force_login(shop["staff"])
    save_with_image(client, store, product)
    image = product.image.name

    client.post(change_url(product), change_form(product, quantity="7"))

    product.refresh_from_db()
    assert (product.image.name, product.quantity) == (image, 7)


@pytest.mark.parametrize(
    ("url", "model", "field", "data"),
    [
        ("/admin/inventory/product/{pk}/change/", Product, "image", None),
        (
            "/admin/inventory/configuration/{pk}/change/",
            Configuration,
            "logo",
            {"site_name": "Site Un", "currency": "XOF", "logo": ""},
        ),
    ],
    ids=["product", "logo"],
)
def test_a_save_keeps_a_file_attached_while_the_form_was_checked(
    client, shop, make_user, monkeypatch, url, model, field, data
):
    """A photo or logo confirmed through the API (another phone, say)
    between the admin's reading of the row and its save: the save keeps
    it, rather than name the file it replaced again, deleted since."""
    row = shop["product"] if model is Product else shop["site"]
    model.objects.filter(pk=row.pk).update(**{field: "old.png"})
    client.force_login(make_user("boss", shop["site"], is_staff=True, is_site_admin=True))
    admin_class = type(admin.site._registry[model])
    save_form = admin_class.save_form

    def attached_meanwhile(self, request, form, change):
        model.objects.filter(pk=row.pk).update(**{field: "new.png"})
        return save_form(self, request, form, change)

    monkeypatch.setattr(admin_class, "save_form", attached_meanwhile)

    response = client.post(url.format(pk=row.pk), data or change_form(row, quantity="7"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    row.refresh_from_db()
    assert getattr(row, field).name == "new.png"
    assert (row.quantity if model is Product else row.site_name) == (
        7 if model is Product else "Site Un"
    )


@pytest.mark.django_db(transaction=True)
def test_an_invalid_file_is_a_field_error_and_keeps_what_was_typed(client, shop, store):
    product = shop["product"]
    client.force_login(shop["staff"])
    save_with_image(client, store, product)
    image = product.image.name
    text = b"Liste des courses: riz, huile, sucre.\n"
    ticket = uploaded(client, store, text, product=product, content_type="image/jpeg")

    response = client.post(
        change_url(product),
        change_form(product, name="Riz parfum\u00e9", image=ticket),
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["image"] == [
        "Le fichier n'est pas une image JPEG, PNG ou WebP, ou il est endommagé."
    ]
    assert form["name"].value() == "Riz parfum\u00e9"
    assert form["image"].value()["ticket"] == "", "a rejected ticket is forgotten"
    product.refresh_from_db()
    assert (product.name, product.image.name) == ("Riz", image)
    assert store.keys() == ["media/" + image]


@pytest.mark.django_db(transaction=True)
def test_a_missing_upload_is_a_field_error_and_the_ticket_stays(client, shop, store):
    product = shop["product"]
    client.force_login(shop["staff"])
    response = client.post(
        "/api/uploads/tickets/",
        {"kind": "product", "object_id": product.pk, "content_type": "image/png", "size": 10},
        content_type="application/json",
    )
    ticket = response.json()["id"]

    response = client.post(change_url(product), change_form(product, image=ticket))

    assert response.status_code == 200
    assert "pas encore arrivé" in str(response.context["adminform"].form.errors["image"])
    assert response.context["adminform"].form["image"].value()["ticket"] == ticket
    assert UploadTicket.objects.get().status == "issued"


@pytest.mark.django_db(transaction=True)
def test_another_field_error_keeps_the_ticket_for_the_next_save(client, shop, store):
    product = shop["product"]
    client.force_login(shop["staff"])
    ticket = uploaded(client, store, png(), product=product)

    response = client.post(change_url(product), change_form(product, name="", image=ticket))

    assert response.status_code == 200
    assert UploadTicket.objects.get().status == "issued"
    assert all("/incoming/" in key for key in store.keys()), "the copy was deleted"
    response = client.post(change_url(product), change_form(product, image=ticket))
    assert response.status_code == 302
    product.refresh_from_db()
    assert store.keys() == ["media/" + product.image.name]


@pytest.mark.django_db(transaction=True)
def test_a_ticket_for_another_object_user_or_site_is_refused(client, shop, store, sites, make_user):
    product = shop["product"]
    other = Product.objects.create(site_configuration=shop["site"], name="Sucre", cug="S-1")
    client.force_login(shop["staff"])
    for_other = uploaded(client, store, png(), product=other)
    new_one = uploaded(client, store, png())
    colleague = make_user("colleague", shop["site"], is_staff=True)
    client.force_login(colleague)
    theirs = uploaded(client, store, png(), product=product)
    abroad_user = make_user("abroad", sites[1], is_staff=True)
    client.force_login(abroad_user)
    abroad = Product.objects.create(site_configuration=sites[1], name="Mil", cug="M-1")
    from_abroad = uploaded(client, store, png(), product=abroad)

    client.force_login(shop["staff"])
    for ticket in (for_other, new_one, theirs, from_abroad):
        response = client.post(change_url(product), change_form(product, image=ticket))
        assert response.status_code == 200, ticket
        assert response.context["adminform"].form.errors["image"] == [
            "L'envoi n'est pas valide. Choisissez de nouveau le fichier."
        ]
    product.refresh_from_db()
    assert not product.image
    assert set(UploadTicket.objects.values_list("status", flat=True)) == {"issued"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("button", ["_save", "_addanother", "_continue"])
def test_the_add_form_creates_the_product_with_its_image(client, shop, store, button):
    client.force_login(shop["staff"])
    ticket = uploaded(client, store, png())

    response = client.post(
        "/admin/inventory/product/add/",
        {
            "name": "Huile",
            "cug": "H-1",
            "price": "2",
            "quantity": "1",
            "image": ticket,
            button: "1",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get(cug="H-1")
    assert product.site_configuration == shop["site"]
    assert product.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    confirmed = UploadTicket.objects.get()
    assert (confirmed.status, confirmed.object_id) == ("confirmed", product.pk)
    assert store.keys() == ["media/" + product.image.name]

    # The same form posted again (back, then save): the ticket bound one product.
    again = client.post(
        "/admin/inventory/product/add/",
        {"name": "Huile", "cug": "H-2", "price": "2", "quantity": "1", "image": ticket},
    )
    assert again.status_code == 200
    assert again.context["adminform"].form.errors["image"]
    assert not Product.objects.filter(cug="H-2").exists()


@pytest.mark.django_db(transaction=True)
def test_a_new_objects_ticket_is_confirmed_by_no_other_way(client, shop, store):
    client.force_login(shop["staff"])
    ticket = uploaded(client, store, png())

    answer = client.post(f"/api/uploads/tickets/{ticket}/confirm/")

    assert answer.status_code == 404
    assert UploadTicket.objects.get().status == "issued"
    assert all("/incoming/" in key for key in store.keys())


@pytest.mark.django_db(transaction=True)
def test_a_superusers_new_product_must_be_of_the_site_of_its_photo(
    client, shop, store, sites, django_user_model
):
    boss = django_user_model.objects.create_superuser(
        "root", password="pw", site_configuration=shop["site"]
    )
    client.force_login(boss)
    ticket = uploaded(client, store, png())
    data = {"name": "Huile", "cug": "H-1", "price": "2", "quantity": "1", "image": ticket}

    response = client.post(
        "/admin/inventory/product/add/", {**data, "site_configuration": sites[1].pk}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"] == [
        "Cette image a été envoyée pour un autre site que celui choisi. "
        "Choisissez l'image à nouveau."
    ]
    assert not Product.objects.filter(cug="H-1").exists()
    # Sent again for the site the form names (the widget does, ?site=):
    # saved, the photo in that site's folder.
    ticket = uploaded(client, store, png(), site=sites[1])
    response = client.post(
        "/admin/inventory/product/add/",
        {**data, "image": ticket, "site_configuration": sites[1].pk},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(cug="H-1")
    assert product.site_configuration == sites[1]
    assert product.image.name.startswith(f"sites/{sites[1].pk}/products/")


@pytest.fixture
def root(client, shop, django_user_model):
    """A superuser, signed in, whose own site is the shop's."""
    boss = django_user_model.objects.create_superuser(
        "root", password="pw", site_configuration=shop["site"]
    )
    client.force_login(boss)
    return boss


def moved_to(product, site, **changes):
    return change_form(product, site_configuration=site.pk, **changes)


@pytest.mark.django_db(transaction=True)
def test_a_product_cannot_move_to_another_site_with_a_new_photo(client, shop, store, sites, root):
    """A ticket for an existing product is of its saved site, where its
    copy waits: the move and the photo were one save, which failed as the
    attachment found the product of another site (a 500)."""
    product = shop["product"]
    ticket = uploaded(client, store, png(), product=product)

    response = client.post(change_url(product), moved_to(product, sites[1], image=ticket))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"] == [
        "L'image et le site ne peuvent pas changer dans le même enregistrement : "
        "enregistrez le nouveau site, puis choisissez l'image."
    ]
    product.refresh_from_db()
    assert (product.site_configuration, product.image.name) == (shop["site"], "")
    assert UploadTicket.objects.get().status == "issued"


@pytest.mark.django_db(transaction=True)
def test_a_product_keeping_its_photo_cannot_move_to_another_site(client, shop, store, sites, root):
    """The photo is stored in the old site's folder: moved, the product
    would be of one site and its photo of another. Cleared, it may move."""
    product = shop["product"]
    save_with_image(client, store, product, site_configuration=shop["site"].pk)
    photo = product.image.name

    response = client.post(change_url(product), moved_to(product, sites[1]))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["site_configuration"] == [
        "Son image est rangée dans le dossier de son site : "
        "effacez l'image pour le déplacer vers un autre site."
    ]
    product.refresh_from_db()
    assert (product.site_configuration, product.image.name) == (shop["site"], photo)
    # With a new photo, both are said at once.
    ticket = uploaded(client, store, png(), product=product)
    response = client.post(change_url(product), moved_to(product, sites[1], image=ticket))
    assert set(response.context["adminform"].form.errors) == {"image", "site_configuration"}

    response = client.post(
        change_url(product), moved_to(product, sites[1], **{"image-clear": "on"})
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.site_configuration, product.image.name) == (sites[1], "")
    # The old photo is gone (the refused upload waits for purge_uploads).
    assert [key for key in store.keys() if "/incoming/" not in key] == []


@pytest.mark.django_db(transaction=True)
def test_a_product_without_a_photo_moves_and_one_moved_gets_a_photo_of_its_new_site(
    client, shop, store, sites, root
):
    product = shop["product"]
    assert client.post(change_url(product), moved_to(product, sites[1])).status_code == 302
    product.refresh_from_db()
    assert product.site_configuration == sites[1]

    save_with_image(client, store, product, site_configuration=sites[1].pk)

    assert product.image.name.startswith(f"sites/{sites[1].pk}/products/")


@pytest.mark.django_db
def test_the_add_forms_widget_sends_the_photo_to_the_site_field_it_names(
    client, shop, make_user, django_user_model
):
    """A superuser's add form names its site field to the widget, which asks
    for a ticket of that site (admin-upload.js); a change form's ticket is
    of its product's site, and a site's staff have no site field."""
    root = django_user_model.objects.create_superuser(
        "root", password="pw", site_configuration=shop["site"]
    )
    staff = make_user("clerk", shop["site"], is_staff=True)
    for user, url, named in [
        (root, "/admin/inventory/product/add/", True),
        (root, change_url(shop["product"]), False),
        (staff, "/admin/inventory/product/add/", False),
    ]:
        client.force_login(user)
        page = client.get(url).content.decode()
        assert ('data-site-field="site_configuration"' in page) is named, (user, url)


@pytest.mark.django_db(transaction=True)
def test_a_site_admin_changes_the_logo(client, shop, store, make_user):
    site = shop["site"]
    boss = make_user("boss", site, is_staff=True, is_site_admin=True)
    client.force_login(boss)
    ticket = uploaded(client, store, png((300, 120)), product=site, kind="logo")

    response = client.post(
        f"/admin/inventory/configuration/{site.pk}/change/",
        {"site_name": site.site_name, "currency": site.currency, "logo": ticket},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.logo.name.startswith(f"sites/{site.pk}/config/")
    assert store.keys() == ["media/" + site.logo.name]


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_store_is_asked(client, shop, store, monkeypatch):
    """The admin wraps its view in a transaction: the store I/O of confirm
    runs before it begins, the attachment inside it."""
    from inventory import admin_uploads

    real_prepare, real_attach = (
        admin_uploads.services.prepare_confirm,
        admin_uploads.services.attach_prepared,
    )
    seen = []

    def spy(name, real):
        def call(*args, **kwargs):
            seen.append((name, transaction.get_connection().in_atomic_block))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(admin_uploads.services, "prepare_confirm", spy("prepare", real_prepare))
    monkeypatch.setattr(admin_uploads.services, "attach_prepared", spy("attach", real_attach))
    product = shop["product"]
    client.force_login(shop["staff"])
    ticket = uploaded(client, store, png(), product=product)

    client.post(change_url(product), change_form(product, image=ticket))

    assert seen == [("prepare", False), ("attach", True)]


@pytest.mark.django_db(transaction=True)
def test_staff_who_may_add_but_not_change_add_a_product_with_its_photo(
    client, shop, store, make_user
):
    adder = make_user(
        "adder",
        shop["site"],
        permissions=["inventory.view_product", "inventory.add_product"],
        is_staff=True,
    )
    client.force_login(adder)
    ticket = uploaded(client, store, png())

    response = client.post(
        "/admin/inventory/product/add/",
        {"name": "Huile", "cug": "H-1", "price": "2", "quantity": "1", "image": ticket},
    )

    assert response.status_code == 302
    assert Product.objects.get(cug="H-1").image


@pytest.mark.django_db(transaction=True)
def test_save_as_new_refuses_the_originals_ticket_and_attaches_a_new_objects_one(
    client, shop, store
):
    """``_saveasnew`` (a field anyone can post, whether or not the admin
    shows the button) adds an object: the upload is prepared as the add
    form's, not for the object of the URL (it was a 500)."""
    product = shop["product"]
    client.force_login(shop["staff"])
    theirs = uploaded(client, store, png(), product=product)

    response = client.post(
        change_url(product), change_form(product, cug="R-2", image=theirs, _saveasnew="1")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"]
    assert list(Product.objects.values_list("cug", "image")) == [("R-1", "")]
    assert UploadTicket.objects.get(pk=theirs).status == "issued"

    new_one = uploaded(client, store, png())
    response = client.post(
        change_url(product), change_form(product, cug="R-2", image=new_one, _saveasnew="1")
    )

    assert response.status_code == 302
    copy = Product.objects.get(cug="R-2")
    assert copy.image.name.startswith(f"sites/{shop['site'].pk}/products/")
    assert UploadTicket.objects.get(pk=new_one).object_id == copy.pk
    product.refresh_from_db()
    assert not product.image


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("own_site", [True, False])
def test_a_superuser_adds_a_product_with_its_photo_to_the_chosen_site(
    client, shop, store, sites, django_user_model, own_site
):
    """A superuser's new-object ticket is of the site chosen in the session
    (the pages' chooser), their own or none whatever; the add
    form offers that site, and saving it attaches the photo."""
    one, two = sites
    root = django_user_model.objects.create_superuser(
        "root", password="pw", site_configuration=one if own_site else None
    )
    client.force_login(root)
    assert client.post("/sites/", {"site": two.pk}).status_code == 302  # chosen for the session

    add_form = client.get("/admin/inventory/product/add/")
    assert add_form.context["adminform"].form.initial["site_configuration"] == two.pk
    ticket = uploaded(client, store, png())
    assert UploadTicket.objects.get().site_id == two.pk
    data = {"name": "Huile", "cug": "H-1", "price": "2", "quantity": "1", "image": ticket}
    response = client.post("/admin/inventory/product/add/", {**data, "site_configuration": two.pk})

    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(cug="H-1")
    assert product.site_configuration == two
    assert product.image.name.startswith(f"sites/{two.pk}/products/")


@pytest.mark.django_db(transaction=True)
def test_a_save_failing_after_the_attachment_keeps_the_old_image_and_the_ticket(
    client, shop, store, monkeypatch
):
    """A failed replace never deletes the old image: the save's transaction
    rolls back the attachment and the old image's record for deletion, the
    copy goes, and the ticket is saved again later."""
    product = shop["product"]
    client.force_login(shop["staff"])
    save_with_image(client, store, product)
    old = product.image.name
    ticket = uploaded(client, store, jpeg(), product=product, content_type="image/jpeg")

    def fail(*args, **kwargs):
        raise RuntimeError("the history could not be written")

    with monkeypatch.context() as patched:
        patched.setattr(ProductAdmin, "log_change", fail)
        client.raise_request_exception = False
        failed = client.post(change_url(product), change_form(product, image=ticket))
        assert failed.status_code == 500

    product.refresh_from_db()
    assert product.image.name == old
    assert "media/" + old in store.keys()
    assert not PendingDeletion.objects.exists()
    assert UploadTicket.objects.get(pk=ticket).status == "issued"
    assert client.post(change_url(product), change_form(product, image=ticket)).status_code == 302
    product.refresh_from_db()
    assert store.keys() == ["media/" + product.image.name] != ["media/" + old]


@pytest.mark.django_db(transaction=True)
def test_an_api_confirm_taking_over_the_admins_claim_leaves_one_image(
    client, shop, store, monkeypatch
):
    """The admin's save claims the ticket, then attaches in its transaction;
    a confirm through the API whose wait outlasted the claim takes it over
    and attaches its own copy. The save then answers as that confirm did:
    one image, the one the product names, and no copy left behind."""
    from inventory import admin_uploads

    product = shop["product"]
    client.force_login(shop["staff"])
    save_with_image(client, store, product)
    ticket = uploaded(client, store, jpeg(), product=product, content_type="image/jpeg")
    prepare, answers = admin_uploads.services.prepare_confirm, []

    def confirm_through_the_api():
        api = Client()
        api.force_login(shop["staff"])
        answers.append(api.post(f"/api/uploads/tickets/{ticket}/confirm/"))
        connection.close()

    def prepare_then_lose_the_claim(*args, **kwargs):
        prepared = prepare(*args, **kwargs)
        lapsed = timezone.now() - timedelta(seconds=1)
        UploadTicket.objects.filter(pk=ticket).update(claimed_until=lapsed)
        racing = threading.Thread(target=confirm_through_the_api)
        racing.start()
        racing.join()
        return prepared

    monkeypatch.setattr(admin_uploads.services, "prepare_confirm", prepare_then_lose_the_claim)
    response = client.post(change_url(product), change_form(product, image=ticket))

    assert response.status_code == 302
    (answer,) = answers
    assert answer.status_code == 200
    product.refresh_from_db()
    assert answer.json()["key"] == "media/" + product.image.name
    assert store.keys() == ["media/" + product.image.name]


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_ticket_or_a_logo_ticket_sent_with_a_product_changes_nothing(
    client, shop, store, make_user
):
    """A ticket already attached, sent again (to bring an older photo
    back), attaches nothing; a logo's ticket is no product's."""
    product, site = shop["product"], shop["site"]
    boss = make_user("boss", site, is_staff=True, is_site_admin=True)
    client.force_login(boss)
    first = uploaded(client, store, png(), product=product)
    assert client.post(change_url(product), change_form(product, image=first)).status_code == 302
    save_with_image(client, store, product, jpeg(), "image/jpeg")
    current = product.image.name
    logo = uploaded(client, store, png((300, 120)), product=site, kind="logo")

    again = client.post(change_url(product), change_form(product, image=first))
    as_logo = client.post(change_url(product), change_form(product, image=logo))

    assert again.status_code == 302
    assert as_logo.status_code == 200 and as_logo.context["adminform"].form.errors["image"]
    product.refresh_from_db()
    assert product.image.name == current
    assert "media/" + current in store.keys()
    assert UploadTicket.objects.get(pk=logo).status == "issued"
