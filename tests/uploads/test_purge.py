"""purge_uploads: expired tickets that were never confirmed go, with their
objects; confirmed attachments stay. With a key missing a permission (as
AWS answers it), it says what it could not do instead of crashing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.support.iam import readme_policy, without
from tests.support.images import jpeg
from tests.support.stores import S3Store
from tests.support.tickets import confirm, issue, unsigned
from uploads.models import UploadTicket


def expire(ticket_id):
    UploadTicket.objects.filter(pk=ticket_id).update(expires_at=timezone.now() - timedelta(hours=2))


def run(*args, stderr=None):
    out = StringIO()
    call_command("purge_uploads", *args, stdout=out, stderr=stderr or StringIO())
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
    assert unsigned(confirm(api, confirmed).json()) == unsigned(attached)


@pytest.fixture
def aws_store(s3_bucket, s3_client):
    return S3Store(s3_client, s3_bucket)


def test_a_key_that_may_not_list_purges_without_counting_what_it_cannot_see(
    aws_store, aws_key, api, product
):
    # Without s3:ListBucket, AWS answers 403 to a HEAD of a missing key.
    aws_key(without(readme_policy(aws_store.bucket), "s3:ListBucket"))
    body = jpeg()
    abandoned = issue(api, product, body)
    assert aws_store.post(abandoned["upload"], body) == 204
    never_uploaded = issue(api, product, body)
    for ticket in (abandoned, never_uploaded):
        expire(ticket["id"])

    dry = run("--dry-run")
    assert "Would delete 2 expired ticket(s) and 1 object(s)." in dry
    assert "would not say whether 1 incoming key(s) held an object" in dry
    assert "they would be deleted without being counted" in dry
    assert UploadTicket.objects.count() == 2

    output = run()

    assert "Deleted 2 expired ticket(s) and 1 object(s)." in output
    assert "(403 to a HEAD: the credentials lack s3:ListBucket on the bucket" in output
    assert UploadTicket.objects.count() == 0
    assert aws_store.keys() == []


def test_a_key_that_may_not_delete_keeps_the_tickets_and_says_why(aws_store, aws_key, api, product):
    aws_key(without(readme_policy(aws_store.bucket), "s3:DeleteObject"))
    body = jpeg()
    abandoned = issue(api, product, body)
    assert aws_store.post(abandoned["upload"], body) == 204
    expire(abandoned["id"])
    key = abandoned["upload"]["fields"]["key"]
    errors = StringIO()

    with pytest.raises(CommandError, match=r"1 object\(s\) could not be deleted; their tickets"):
        run(stderr=errors)

    assert f"Not deleted: {key}: the store refused the delete_object (403)" in errors.getvalue()
    assert (
        f"Grant s3:DeleteObject on arn:aws:s3:::{aws_store.bucket}/media/sites/*"
        in errors.getvalue()
    )
    assert UploadTicket.objects.filter(pk=abandoned["id"]).exists(), "kept for the next run"
    assert aws_store.keys() == [key]

    aws_key(readme_policy(aws_store.bucket))

    assert "Deleted 1 expired ticket(s) and 1 object(s)." in run()
    assert aws_store.keys() == []
