"""The database migrated back and forth, for the tests of a migration."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """The database migrated to ``targets`` (``[(app, migration name)]``);
    the app registry as of them, whose models are the migrations'."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_the_latest():
    """The database as the code expects it: every migration applied."""
    return migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
