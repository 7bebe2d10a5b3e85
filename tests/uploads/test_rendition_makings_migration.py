"""Migration 0014: the worker of the code before 0012, still running once
``migrate`` has run (README, Upgrading), inserts its rendition sets again.
Its INSERT omits ``unfinished_makings``, which 0012 added NOT NULL with no
default in the database; 0014 gives it one. SQLite and PostgreSQL, as
DATABASE_URL says."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from tests.support.migrations import migrate, migrate_to_the_latest

BEFORE_0012 = ("uploads", "0011_ticket_user_verbose_name")
WITHOUT_0014 = [("uploads", "0013_ticket_outlives_its_user")]


@pytest.fixture
def migrator(transactional_db):
    yield migrate
    migrate_to_the_latest()


def old_worker_insert(original):
    """A rendition set created as the code before 0012 creates one: its
    model, as of 0011, knows no ``unfinished_makings``, nor does the INSERT
    its ORM sends (checked here, for the test to mean what it says)."""
    old_model = (
        MigrationLoader(None).project_state(BEFORE_0012).apps.get_model("uploads", "RenditionSet")
    )
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        old_model.objects.create(original=original, kind="product")
    (insert,) = [query["sql"] for query in queries if query["sql"].startswith("INSERT")]
    assert "unfinished_makings" not in insert


def makings(original):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT unfinished_makings FROM uploads_renditionset WHERE original = %s",
            [original],
        )
        return cursor.fetchall()


def test_the_old_workers_sets_count_no_makings(migrator):
    migrator(WITHOUT_0014)
    migrate_to_the_latest()

    old_worker_insert("media/sites/1/products/aa.png")

    assert makings("media/sites/1/products/aa.png") == [(0,)]


def test_without_it_the_old_worker_fails(migrator):
    """Between 0012 and 0014 (one ``migrate`` run applies both), as 0012
    left every database that ran it."""
    migrator(WITHOUT_0014)

    with pytest.raises(IntegrityError):
        old_worker_insert("media/sites/1/products/aa.png")

    assert makings("media/sites/1/products/aa.png") == []
