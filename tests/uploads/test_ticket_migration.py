"""Migration 0005: a confirmed ticket keeps what its stored answer decided
(format, width, height), and the answer, presigned URL included, goes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.migrations import migrate, migrate_to_the_latest

BEFORE = [("uploads", "0004_pending_deletion_of_deleted_objects")]
AFTER = [("uploads", "0005_confirmed_image_fields")]


@pytest.fixture
def migrator(transactional_db):
    yield migrate
    migrate_to_the_latest()


def ticket_row(apps, user, name, **fields):
    now = timezone.now()
    return apps.get_model("uploads", "UploadTicket").objects.create(
        user_id=user.pk,
        kind="product",
        object_id=1,
        content_type="image/png",
        size=139,
        incoming_key=f"media/sites/1/products/incoming/{name}.png",
        expires_at=now + timedelta(minutes=10),
        **fields,
    )


def test_confirmed_answers_become_fields(migrator, django_user_model):
    old = migrator(BEFORE)
    user = django_user_model.objects.create(username="staff")
    key = "media/sites/1/products/aa.png"
    confirmed = ticket_row(
        old,
        user,
        "a",
        status="confirmed",
        final_key=key,
        result={
            "id": "x",
            "key": key,
            "url": "https://s3.example.com/bucket/" + key + "?X-Amz-Signature=0",
            "format": "png",
            "width": 64,
            "height": 48,
        },
    )
    issued = ticket_row(old, user, "b")

    new = migrator(AFTER)

    tickets = new.get_model("uploads", "UploadTicket").objects
    assert tickets.values("format", "width", "height").get(pk=confirmed.pk) == {
        "format": "png",
        "width": 64,
        "height": 48,
    }
    assert tickets.values("format", "width", "height").get(pk=issued.pk) == {
        "format": "",
        "width": None,
        "height": None,
    }
    assert "result" not in {field.name for field in tickets.model._meta.get_fields()}


def test_migrating_back_rebuilds_the_answers(migrator, django_user_model):
    """Unapplied, the code before it finds the answer it stored, its URL
    signed anew."""
    user = django_user_model.objects.create(username="staff")
    key = "media/sites/1/products/aa.png"
    new = migrator(AFTER)
    confirmed = ticket_row(
        new, user, "a", status="confirmed", final_key=key, format="png", width=64, height=48
    )

    old = migrator(BEFORE)

    result = old.get_model("uploads", "UploadTicket").objects.get(pk=confirmed.pk).result
    assert result == {
        "id": str(confirmed.pk),
        "status": "confirmed",
        "kind": "product",
        "object_id": 1,
        "key": key,
        "url": "/media/sites/1/products/aa.png",
        "format": "png",
        "width": 64,
        "height": 48,
        "size": 139,
    }
