"""Each migration of this project's apps leaves a schema the code of the
release before it can run against: during an upgrade the old processes serve
between ``migrate`` and their restart (README, Deployment › Upgrading). A
migration that adds a NOT NULL column without a database default, drops or
renames a column or table, breaks their INSERTs and SELECTs there.

django-migration-linter reads the SQL each migration runs on the test
database's vendor (``sqlmigrate``: SQLite or PostgreSQL, as DATABASE_URL
says) and names what the old code cannot run against. The migrations that
shipped with such a change, the upgrade guide doing what they need, are
listed in ``SHIPPED`` with the reason; a new one is listed only on purpose,
with its release note.
"""

import io
from contextlib import redirect_stdout

import pytest
from django.db.migrations.loader import MigrationLoader
from django_migration_linter import MigrationLinter

APPS = ("project", "inventory", "legacy_media", "uploads")

# (app, migration): why the linter's finding is no upgrade hazard (any database).
SHIPPED = {
    ("inventory", "0003_site_name_not_unique"): (
        "SQLite rebuilds the table to drop the unique index, which the linter "
        "reads as a new NOT NULL; PostgreSQL only drops the index"
    ),
    ("inventory", "0004_price_not_negative"): (
        "its RunPython uses apps.get_model (the linter takes the model's path "
        "in its error message for an import); the SQLite table rebuild for the "
        "CHECK constraint reads as a new NOT NULL"
    ),
    ("inventory", "0005_product_save_key"): (
        "adds a nullable column and a unique constraint; the SQLite table "
        "rebuild reads as a new NOT NULL"
    ),
    ("uploads", "0005_confirmed_image_fields"): (
        "shipped, cannot change; drops UploadTicket.result, its data carried "
        "to format, width and height first"
    ),
    ("uploads", "0006_delete_migratedsource"): (
        "shipped, cannot change; drops the MigratedSource table"
    ),
    ("uploads", "0007_ticket_for_a_new_object"): (
        "makes object_id nullable; the SQLite table rebuild reads as a new NOT NULL"
    ),
    ("uploads", "0009_ticket_indexes"): (
        "shipped, cannot change; adds a unique constraint on incoming_key, and "
        "SQLite's table rebuild reads as a new NOT NULL"
    ),
    ("uploads", "0012_rendition_makings"): (
        "shipped; the upgrade guide stops the worker before migrate (release notes)"
    ),
    ("uploads", "0013_ticket_outlives_its_user"): (
        "makes user nullable; the SQLite table rebuild reads as a new NOT NULL"
    ),
    ("uploads", "0014_rendition_makings_database_default"): (
        "gives unfinished_makings the database default 0012 lacked; the SQLite "
        "table rebuild reads as a new NOT NULL"
    ),
}


# The test database (a mark, not django_db_setup alone, which sets up no
# database for a session whose tests ask for none: the linter then read
# DATABASE_URL's own), outside a transaction: SQLite's schema editor, which
# ``sqlmigrate`` uses, refuses to start in one. Nothing is written.
database = pytest.mark.django_db(transaction=True)


def lint(app_label):
    """The linter's report of ``app_label``'s migrations bar the listed ones:
    (whether any fails, its lines naming each failing migration and why)."""
    linter = MigrationLinter(
        include_apps=[app_label],
        ignore_name=[name for app, name in SHIPPED if app == app_label],
        no_cache=True,
        quiet=["ok", "ignore"],
    )
    report = io.StringIO()
    with redirect_stdout(report):
        linter.lint_all_migrations(app_label=app_label)
    return linter.has_errors, report.getvalue()


@database
@pytest.mark.parametrize("app_label", APPS)
def test_every_migration_lets_the_previous_release_run(app_label):
    failed, report = lint(app_label)
    assert not failed, (
        "the code before these migrations cannot run against their schema "
        "while it still serves (README, Upgrading); if deliberate, list the "
        "migration in SHIPPED with the reason and write its release note:\n" + report
    )


def test_every_exception_names_a_migration():
    """An entry left behind by a renamed or squashed migration would keep
    excusing a name that a new migration could take."""
    on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    assert set(SHIPPED) - set(on_disk) == set()


@database
def test_a_not_null_column_without_a_database_default_fails(settings):
    """The check can fail: a migration as makemigrations writes it for a new
    NOT NULL column with a default (Django's, not the database's) is named."""
    settings.MIGRATION_MODULES = {"legacy_media": "tests.project.not_null_migrations"}
    failed, report = lint("legacy_media")
    assert failed
    assert "(legacy_media, 0002_shelf_height)... ERR" in report
    assert "NOT NULL constraint on columns" in report
    assert "0001_initial)... ERR" not in report
