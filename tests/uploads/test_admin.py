"""The upload app's admin: the tickets and the objects to delete, read only,
each site's staff seeing their own site's rows alone; the actions confirm
tickets left waiting and purge expired ones through the services, and say
what they did, ticket by ticket."""

from datetime import timedelta

import pytest
from django.contrib.admin import AdminSite
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.utils import get_deleted_objects
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Product, User
from inventory.permissions import permissions_named
from tests.support.admin import logged_in
from tests.support.images import jpeg
from tests.support.stores import temporary_file
from tests.support.tickets import issue
from uploads import services
from uploads.admin import (
    PendingDeletionAdmin,
    RenditionSetAdmin,
    TicketSiteFilter,
    UploadTicketAdmin,
)
from uploads.errors import NotFound
from uploads.media import TEMPORARY_MAX_AGE
from uploads.models import PendingDeletion, RenditionSet, UploadTicket

TICKETS = "/admin/uploads/uploadticket/"


@pytest.fixture
def other_site(sites):
    return sites[1]


@pytest.fixture
def foreign_product(other_site):
    return Product.objects.create(site_configuration=other_site, name="Cacao", cug="C-1")


@pytest.fixture
def foreign_api(make_user, other_site):
    client = APIClient()
    client.force_authenticate(make_user("stranger", other_site))
    return client


@pytest.fixture
def boss(make_user, site):
    """Site One's admin, who sees its tickets by that role."""
    return make_user("boss", site, permissions=[], is_site_admin=True, is_staff=True)


@pytest.fixture
def viewer(make_user, site):
    """Site One's staff who may see products and tickets, not change them."""
    return make_user(
        "viewer",
        site,
        permissions=["inventory.view_product", "uploads.view_uploadticket"],
        is_staff=True,
    )


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def act(client, action, tickets, language="en"):
    return client.post(
        TICKETS,
        {"action": action, "_selected_action": [ticket["id"] for ticket in tickets], "index": 0},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    )


def site_filter_of(changelist):
    (site_filter,) = [f for f in changelist.filter_specs if isinstance(f, TicketSiteFilter)]
    return site_filter


def status_of(ticket):
    return UploadTicket.objects.get(pk=ticket["id"]).status


# Who sees what.


def test_site_staff_see_only_their_own_sites_tickets(
    boss, root, api, product, foreign_api, foreign_product
):
    own = issue(api, product, jpeg())
    foreign = issue(foreign_api, foreign_product, jpeg())
    client = logged_in(boss)

    response = client.get(TICKETS, {"_facets": 1})
    page = response.content.decode()
    assert own["id"] in page and foreign["id"] not in page
    assert "Site Two" not in page and "stranger" not in page
    changelist = response.context["cl"]
    assert (changelist.result_count, changelist.full_result_count) == (1, 1)
    site_filter = site_filter_of(changelist)
    assert site_filter.lookup_choices == [(product.site_configuration_id, "Site One")]
    # Naming the other site, or searching for its user, finds nothing.
    assert (
        client.get(TICKETS, {"site": foreign_product.site_configuration_id})
        .context["cl"]
        .result_count
        == 0
    )
    assert client.get(TICKETS, {"q": "stranger"}).context["cl"].result_count == 0
    assert client.get(TICKETS, {"q": foreign["id"][:8]}).context["cl"].result_count == 0
    assert client.get(TICKETS, {"q": own["id"][:8]}).context["cl"].result_count == 1

    everything = logged_in(root).get(TICKETS).context["cl"]
    assert everything.result_count == 2
    site_filter = site_filter_of(everything)
    assert [name for _, name in site_filter.lookup_choices] == ["Site One", "Site Two"]


def test_another_sites_ticket_is_answered_as_a_missing_one(
    boss, api, product, foreign_api, foreign_product
):
    issue(api, product, jpeg())
    foreign = issue(foreign_api, foreign_product, jpeg())
    missing = "00000000-0000-4000-8000-000000000000"
    client = logged_in(boss)

    answers = []
    for ticket_id in (foreign["id"], missing):
        response = client.get(f"{TICKETS}{ticket_id}/change/", follow=True)
        messages = [message.replace(ticket_id, "<id>") for message in texts(response)]
        answers.append((response.redirect_chain, messages))
        assert "Cacao" not in response.content.decode()
    assert answers[0] == answers[1]
    assert answers[0][0] == [("/admin/", 302)]


def test_the_list_shows_each_tickets_facts_and_links_its_object(boss, api, product):
    ticket = issue(api, product, jpeg(), filename="riz.jpg")
    UploadTicket.objects.filter(pk=ticket["id"]).update(size=2048)

    page = logged_in(boss).get(TICKETS, {"q": "staff"}).content.decode()

    assert ticket["id"] in page
    assert "Site One" in page and "issued" in page and "2.0\xa0KB" in page
    assert f'href="/admin/inventory/product/{product.pk}/change/"' in page


def test_an_issued_ticket_past_its_expiry_lists_as_expired(boss, api, product):
    old = issue(api, product, jpeg())
    fresh = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=old["id"]).update(expires_at=timezone.now())
    client = logged_in(boss)

    def listed(status):
        response = client.get(TICKETS, {"status": status})
        return {str(ticket.pk) for ticket in response.context["cl"].result_list}

    assert listed("expired") == {old["id"]}
    assert listed("issued") == {fresh["id"]}


def test_a_ticket_whose_row_holds_no_status_of_ours_lists_with_the_rest(boss, api, product):
    """A row altered by hand is where staff look into it: the list shows
    it, and the others, as stored, rather than fail."""
    altered = issue(api, product, jpeg())
    other = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=altered["id"]).update(status="hacked")

    response = logged_in(boss).get(TICKETS)

    assert response.status_code == 200
    page = response.content.decode()
    assert altered["id"] in page and other["id"] in page and "hacked" in page
    acted = act(logged_in(boss), "confirm_selected", [altered])
    assert texts(acted) == [f"Ticket {altered['id']} is hacked already: left as it is."]


def test_tickets_cannot_be_added_changed_or_deleted_by_hand(root, api, product):
    ticket = issue(api, product, jpeg())
    client = logged_in(root)

    detail = client.get(f"{TICKETS}{ticket['id']}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    change = client.post(f"{TICKETS}{ticket['id']}/change/", {"status": "confirmed"})
    assert change.status_code == 403
    assert client.get(f"{TICKETS}add/").status_code == 403
    assert client.post(f"{TICKETS}{ticket['id']}/delete/", {"post": "yes"}).status_code == 403
    actions = dict(client.get(TICKETS).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert UploadTicket.objects.get(pk=ticket["id"]).status == "issued"


# Confirm the selected tickets.


def test_confirm_selected_confirms_what_arrived_and_says_what_did_not(store, boss, api, product):
    arrived = issue(api, product, jpeg())
    assert store.post(arrived["upload"], jpeg()) in (200, 201, 204)
    missing = issue(api, product, jpeg())
    garbage = b"not an image at all".ljust(len(jpeg()), b"!")
    broken = issue(api, product, garbage)
    assert store.post(broken["upload"], garbage) in (200, 201, 204)

    response = act(logged_in(boss), "confirm_selected", [arrived, missing, broken])

    assert response.status_code == 200
    assert (status_of(arrived), status_of(missing), status_of(broken)) == (
        "confirmed",
        "issued",
        "rejected",
    )
    product.refresh_from_db()
    confirmed = UploadTicket.objects.get(pk=arrived["id"])
    assert "media/" + product.image.name == confirmed.final_key
    assert confirmed.final_key in store.keys()
    assert sorted(texts(response)) == sorted(
        [
            f"Ticket {arrived['id']}: confirmed, attached to product #{product.pk}.",
            f"Ticket {missing['id']}: its file has not arrived yet; the ticket stays open.",
            f"Ticket {broken['id']}: rejected (invalid_image): "
            "The file is not a JPEG, PNG or WebP image, or it is damaged.",
        ]
    )

    again = act(logged_in(boss), "confirm_selected", [arrived])
    assert texts(again) == [f"Ticket {arrived['id']} is confirmed already: left as it is."]


def test_confirm_speaks_french(boss, api, product):
    missing = issue(api, product, jpeg())

    response = act(logged_in(boss, "fr"), "confirm_selected", [missing], language="fr")

    assert texts(response) == [
        f"Ticket {missing['id']} : son fichier n'est pas encore arrivé ; le ticket reste ouvert."
    ]


def test_confirm_names_the_object_in_the_users_language(store, viewer, boss, api, product):
    """The kind is an identifier for clients ("product"); a French sentence
    names the object as the target declares it, its model's verbose name."""
    ticket = issue(api, product, jpeg())
    assert store.post(ticket["upload"], jpeg()) in (200, 201, 204)
    refused = act(logged_in(viewer, "fr"), "confirm_selected", [ticket], language="fr")
    assert texts(refused) == [
        f"Ticket {ticket['id']} : vous ne pouvez pas modifier l'objet produit n° {product.pk} :"
        " non confirmé."
    ]

    response = act(logged_in(boss, "fr"), "confirm_selected", [ticket], "fr")

    assert texts(response) == [
        f"Ticket {ticket['id']} : confirmé, joint à l'objet produit n° {product.pk}."
    ]


def test_confirm_acts_as_the_tickets_user_and_needs_the_staff_may_change_the_object(
    store, make_user, site, viewer, api, product
):
    """Staff who may only see products cannot attach an image by
    confirming; and a ticket's user who lost the right to change products
    has their upload refused, as their own confirm would be."""
    ticket = issue(api, product, jpeg())
    assert store.post(ticket["upload"], jpeg()) in (200, 201, 204)

    refused = act(logged_in(viewer), "confirm_selected", [ticket])
    assert texts(refused) == [
        f"Ticket {ticket['id']}: you may not change product #{product.pk}: not confirmed."
    ]
    assert status_of(ticket) == "issued"

    uploader = UploadTicket.objects.get(pk=ticket["id"]).user
    uploader.user_permissions.clear()
    boss = make_user("boss", site, permissions=[], is_site_admin=True, is_staff=True)
    answered = act(logged_in(boss), "confirm_selected", [ticket])
    assert texts(answered) == [
        f"Ticket {ticket['id']}: not confirmed (permission_denied): "
        "You are not allowed to change this."
    ]
    product.refresh_from_db()
    assert not product.image


def test_no_one_confirms_a_deleted_users_ticket(store, root, staff, api, product):
    """A ticket is confirmed as its own user: once the user is deleted,
    its upload waits for the purge (``UploadTicket``)."""
    ticket = issue(api, product, jpeg())
    assert store.post(ticket["upload"], jpeg()) in (200, 201, 204)
    staff.delete()

    answered = act(logged_in(root), "confirm_selected", [ticket])
    in_french = act(logged_in(root, "fr"), "confirm_selected", [ticket], "fr")

    assert answered.status_code == 200  # the list, the ticket's user "-"
    assert texts(answered) == [
        f"Ticket {ticket['id']}: its user was deleted, so no one may confirm it: "
        "its upload is deleted once the ticket expires."
    ]
    assert texts(in_french) == [
        f"Ticket {ticket['id']} : son utilisateur a été supprimé, personne ne peut donc le "
        "confirmer : son envoi sera supprimé à l'expiration du ticket."
    ]
    assert status_of(ticket) == "issued"
    product.refresh_from_db()
    assert not product.image
    # ``user=None`` would read ``user IS NULL``: the deleted users' tickets.
    with pytest.raises(NotFound):
        services.get_ticket(None, ticket["id"])


def test_any_projects_user_admin_deletes_a_user_who_has_tickets(root, staff, api, product):
    """Deleting a user deletes no upload model's row, so that no user
    admin, Django's own included, asks for a permission that no one holds
    (no one deletes tickets by hand): their tickets outlive them."""
    issue(api, product, jpeg())
    site = AdminSite()
    site.register(User, DjangoUserAdmin)
    site.register(UploadTicket, UploadTicketAdmin)
    site.register(PendingDeletion, PendingDeletionAdmin)
    site.register(RenditionSet, RenditionSetAdmin)
    request = RequestFactory().post("/")
    request.user = root

    _, counts, perms_needed, protected = get_deleted_objects([staff], request, site)

    assert (perms_needed, protected) == (set(), [])
    assert UploadTicket._meta.verbose_name_plural not in counts


# Purge the expired tickets.


def test_purge_expired_deletes_expired_tickets_and_their_objects(store, root, api, product):
    abandoned = issue(api, product, jpeg())
    assert store.post(abandoned["upload"], jpeg()) in (200, 201, 204)
    fresh = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=abandoned["id"]).update(
        expires_at=timezone.now() - timedelta(hours=2)
    )

    response = act(logged_in(root), "purge_expired", [fresh])

    assert texts(response) == ["Deleted 1 expired ticket(s) and 1 object(s)."]
    assert list(UploadTicket.objects.values_list("pk", flat=True)) == [
        UploadTicket.objects.get(pk=fresh["id"]).pk
    ]
    assert abandoned["upload"]["fields"]["key"] not in store.keys()


def test_only_superusers_may_purge_every_sites_tickets(boss, api, product):
    ticket = issue(api, product, jpeg())
    UploadTicket.objects.filter(pk=ticket["id"]).update(
        expires_at=timezone.now() - timedelta(hours=2)
    )
    client = logged_in(boss)

    actions = dict(client.get(TICKETS).context["action_form"].fields["action"].choices)
    assert "purge_expired" not in actions and "confirm_selected" in actions
    act(client, "purge_expired", [ticket])
    assert UploadTicket.objects.filter(pk=ticket["id"]).exists()


# The objects to delete.


def test_objects_to_delete_are_listed_to_the_staff_of_their_site_only(
    make_user, site, other_site, root
):
    ours = PendingDeletion.objects.create(
        key=f"media/sites/{site.pk}/products/a.jpg", reason="replaced"
    )
    theirs = PendingDeletion.objects.create(
        key=f"media/sites/{other_site.pk}/products/b.jpg", reason="replaced"
    )
    # A site whose id starts with ours is another site.
    lookalike = PendingDeletion.objects.create(
        key=f"media/sites/{site.pk}0/products/c.jpg", reason="replaced"
    )
    keeper = make_user("keeper", site, permissions=["uploads.view_pendingdeletion"], is_staff=True)
    listing = "/admin/uploads/pendingdeletion/"

    seen = logged_in(keeper).get(listing).context["cl"].result_list
    assert list(seen) == [ours]
    foreign = logged_in(keeper).get(f"{listing}{theirs.pk}/change/")
    assert foreign.status_code == 302
    everything = logged_in(root).get(listing).context["cl"].result_list
    assert set(everything) == {ours, theirs, lookalike}


def test_the_ticket_user_autocomplete_lists_no_other_sites_users(make_user, boss, site, other_site):
    make_user("neighbour", site)
    make_user("stranger", other_site)
    boss.user_permissions.set(permissions_named(["inventory.view_user"]))

    response = logged_in(boss).get(
        "/admin/autocomplete/",
        {"app_label": "uploads", "model_name": "uploadticket", "field_name": "user", "term": ""},
    )

    assert response.status_code == 200
    names = {row["text"] for row in response.json()["results"]}
    assert "neighbour" in names and "stranger" not in names
    assert "stranger" not in response.content.decode()


def test_a_ticket_for_an_object_still_to_be_created_lists_with_no_link(boss, api, product):
    body = jpeg()
    answer = api.post(
        "/api/uploads/tickets/",
        {"kind": "product", "content_type": "image/jpeg", "size": len(body), "new": True},
        format="json",
    )
    assert answer.status_code == 201, answer.json()

    page = logged_in(boss).get(TICKETS).content.decode()

    assert answer.json()["id"] in page and "new product" in page
    assert "/admin/inventory/product/None/" not in page


def test_the_list_names_each_tickets_object_in_the_users_language(boss, api, product):
    issue(api, product, jpeg())
    answer = api.post(
        "/api/uploads/tickets/",
        {"kind": "product", "content_type": "image/jpeg", "size": len(jpeg()), "new": True},
        format="json",
    )
    assert answer.status_code == 201, answer.json()

    page = logged_in(boss, "fr").get(TICKETS).content.decode()

    assert f">produit n° {product.pk}</a>" in page
    assert "produit (nouveau)" in page


def test_purge_says_it_kept_a_recorded_object_a_row_names_again(root, api, product, site):
    name = f"sites/{site.pk}/products/named.jpg"
    Product.objects.filter(pk=product.pk).update(image=name)
    PendingDeletion.objects.create(key=f"media/{name}", reason=PendingDeletion.Reason.REPLACED)
    ticket = issue(api, product, jpeg())

    response = act(logged_in(root), "purge_expired", [ticket])

    assert texts(response)[-1] == (
        "1 object(s) recorded for deletion are in use again (images a row names, and their "
        "renditions): kept."
    )
    assert not PendingDeletion.objects.exists()


def test_purge_says_how_many_recorded_deletions_it_retried(root, api, product, site):
    key = f"media/sites/{site.pk}/products/replaced.jpg"
    PendingDeletion.objects.create(key=key, reason=PendingDeletion.Reason.REPLACED)
    ticket = issue(api, product, jpeg())

    response = act(logged_in(root, "fr"), "purge_expired", [ticket], language="fr")

    assert (
        "1 suppression(s) enregistrée(s) réessayée(s) : 1 effectuée(s), 0 toujours en échec."
        in texts(response)
    )
    assert not PendingDeletion.objects.exists()


def test_purge_says_which_sets_it_forgot_and_which_records_it_left_alone(root, api, product, site):
    """As ``purge_uploads`` says them: the rendition set of an image no
    object uses, forgotten, and a record naming its key in a spelling the
    app never writes (edited by hand), dropped with the key left alone. The
    action said neither."""
    RenditionSet.objects.create(
        original=f"sites/{site.pk}/products/gone.jpg", kind="product", state="pending"
    )
    PendingDeletion.objects.create(
        key=f"media/sites/{site.pk}/products//photo.jpg", reason=PendingDeletion.Reason.REPLACED
    )
    ticket = issue(api, product, jpeg())

    response = act(logged_in(root, "fr"), "purge_expired", [ticket], language="fr")

    assert "Déclinaisons oubliées pour 1 image(s) qu'aucun objet n'utilise." in texts(response)
    assert (
        "1 clé(s) à supprimer ne sont pas de celles que l'application écrit (hors de media/, "
        "ou écrites autrement : voir le journal) : laissées telles quelles, leurs "
        "enregistrements abandonnés."
    ) in texts(response)
    assert not RenditionSet.objects.exists() and not PendingDeletion.objects.exists()


def test_purge_says_which_renditions_it_queued_again_and_which_it_gave_up(root, api, product, site):
    """Sets a task worker left pending when it died, an hour ago and more:
    one is queued again, one whose makings stopped the worker three times
    ends failed."""
    ticket = issue(api, product, jpeg())
    for number, makings in ((1, 1), (2, 3)):
        name = f"sites/{site.pk}/products/{number}.jpg"
        Product.objects.create(site_configuration=site, name=name, cug=f"P-{number}", image=name)
        RenditionSet.objects.create(original=name, kind="product", unfinished_makings=makings)
    RenditionSet.objects.update(updated_at=timezone.now() - timedelta(hours=2))

    response = act(logged_in(root), "purge_expired", [ticket])

    assert texts(response)[-2:] == [
        "Queued the renditions of 1 image(s) again, left pending by a task worker that "
        "stopped, or by a store that failed.",
        "1 image(s) stopped the task worker each time their renditions were made (out of "
        "memory?): they show as photos that could not be read.",
    ]
    states = dict(RenditionSet.objects.values_list("unfinished_makings", "state"))
    assert states == {1: "pending", 3: "failed"}


def test_purge_says_it_deleted_the_files_of_writes_a_killed_process_left(root, api, product):
    """Filesystem mode: files written, never renamed into place."""
    left = temporary_file("0123.tmp", seconds_old=TEMPORARY_MAX_AGE + 60)
    ticket = issue(api, product, jpeg())

    response = act(logged_in(root, "fr"), "purge_expired", [ticket], language="fr")

    assert texts(response)[-1] == (
        "1 fichier(s) temporaire(s) supprimé(s), laissé(s) par un processus arrêté "
        "pendant leur écriture."
    )
    assert not left.exists()


def test_the_ticket_list_heads_its_columns_in_the_users_language(boss, api, product):
    issue(api, product, jpeg())

    response = logged_in(boss, "fr").get(TICKETS)

    headers = [str(header["text"]) for header in result_headers(response.context["cl"])]
    assert headers[-3:] == ["utilisateur", "créé le", "expire le"]
