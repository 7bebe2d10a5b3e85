"""purge_uploads: expired tickets that were never confirmed go, with their
objects; confirmed attachments stay."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from tests.images import jpeg
from tests.uploads.conftest import confirm, issue
from uploads.models import UploadTicket


def expire(ticket_id):
    UploadTicket.objects.filter(pk=ticket_id).update(expires_at=timezone.now() - timedelta(hours=2))


def run(*args):
    out = StringIO()
    call_command("purge_uploads", *args, stdout=out)
    return out.getvalue()


def test_purge_removes_expired_unconfirmed_tickets_and_objects(store, api, product):
    body = jpeg()
    abandoned = issue(api, product, body)  # uploaded, never confirmed
    assert store.post(abandoned["upload"], body) in (200, 201, 204)
    never_uploaded = issue(api, product, body)
    fresh = issue(api, product, body)  # not expired: kept
    assert store.post(fresh["upload"], body) in (200, 201, 204)
    confirmed = issue(api, product, body)
    assert store.post(confirmed["upload"], body) in (200, 201, 204)
    attached = confirm(api, confirmed).json()
    # A re-post to a confirmed ticket's incoming key, left behind.
    assert store.post(confirmed["upload"], body) in (200, 201, 204)
    for ticket in (abandoned, never_uploaded, confirmed):
        expire(ticket["id"])

    dry = run("--dry-run")
    assert "Would delete 2 expired ticket(s) and 2 object(s)" in dry
    assert UploadTicket.objects.count() == 4
    assert abandoned["upload"]["fields"]["key"] in store.keys()

    assert "Deleted 2 expired ticket(s) and 2 object(s)" in run()
    assert {str(pk) for pk in UploadTicket.objects.values_list("pk", flat=True)} == {
        fresh["id"],
        confirmed["id"],
    }
    assert store.keys() == sorted([fresh["upload"]["fields"]["key"], attached["key"]])
    product.refresh_from_db()
    assert "media/" + product.image.name == attached["key"]

    assert "Deleted 0 expired ticket(s) and 0 object(s)" in run()
    assert confirm(api, confirmed).json() == attached
