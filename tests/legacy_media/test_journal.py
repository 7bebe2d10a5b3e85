"""The journal of moved images left ``uploads`` for ``legacy_media``: a
database migrated before the move keeps what earlier runs recorded, so
``--delete-source`` still deletes what they moved."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from legacy_media.models import MigratedSource
from tests.support.migrations import migrate_to_the_latest

UPLOADS_BEFORE_THE_MOVE = ("uploads", "0004_pending_deletion_of_deleted_objects")

RECORDS = [
    ("bucket media", "products/a.jpg", "sites/1/products/a-0123456789.jpg", None),
    (
        "bucket media",
        "shared/e.jpg",
        "sites/2/products/e-9876543210.jpg",
        datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC),
    ),
]


def migrate_to_before_the_move():
    """The database as it was before the move; its models' state."""
    executor = MigrationExecutor(connection)
    executor.migrate([UPLOADS_BEFORE_THE_MOVE, ("legacy_media", None)])
    return executor.loader.project_state(UPLOADS_BEFORE_THE_MOVE).apps


@pytest.mark.django_db(transaction=True)
def test_the_records_of_earlier_runs_survive_the_move():
    try:
        old_apps = migrate_to_before_the_move()
        OldMigratedSource = old_apps.get_model("uploads", "MigratedSource")
        for origin, source, destination, deleted_at in RECORDS:
            OldMigratedSource.objects.create(
                origin=origin, source=source, destination=destination, source_deleted_at=deleted_at
            )
    finally:
        migrate_to_the_latest()

    moved = MigratedSource.objects.order_by("source")
    assert [
        (entry.origin, entry.source, entry.destination, entry.source_deleted_at) for entry in moved
    ] == RECORDS
    assert "uploads_migratedsource" not in connection.introspection.table_names()
    # A later run records its copies next to them.
    MigratedSource.objects.create(origin="bucket media", source="b.jpg", destination="sites/1/b")
    assert MigratedSource.objects.count() == 3
