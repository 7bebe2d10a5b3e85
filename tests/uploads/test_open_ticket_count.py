"""The count of a user's open tickets, made on every ticket, reads that
user's tickets only, however many open tickets other users hold.

It is the ``WHERE`` of ``insert_within_limit``'s one statement. With a
second index on (status, expires_at), PostgreSQL chose that one whenever its
statistics were stale (never gathered, or gathered before the tickets it
counts, which expire past the histogram's end) and read every open ticket of
every site to count one user's: a ticket cost more CPU the more tickets were
open anywhere (issue 17's load benchmark lost a third of its rate to it).
The rows read are counted off the statement that ``create_ticket`` runs,
executed.
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from uploads.models import UploadTicket
from uploads.services import insert_within_limit_statement

OTHERS = 20
OTHERS_TICKETS = 60
OWN_TICKETS = 3
TABLE = UploadTicket._meta.db_table


def ticket(user, site, now):
    ticket_id = uuid.uuid4()
    return UploadTicket(
        id=ticket_id,
        user=user,
        kind="product",
        object_id=1,
        site_id=site.pk,
        content_type="image/jpeg",
        size=1000,
        incoming_key=f"media/sites/{site.pk}/incoming/{ticket_id}.jpg",
        created_at=now,
        expires_at=now + timedelta(minutes=10),
    )


def analyze():
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(TABLE)}")


def rows_read_postgresql(sql, params):
    """Rows of the ticket table the statement's scans read, its count's
    included, which PostgreSQL runs inside a function (migration
    ``uploads.0010``) where no ``EXPLAIN`` of the statement shows them: the
    transaction's own counts of rows read, before and after."""

    def rows_read(cursor):
        cursor.execute(
            "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables WHERE relname = %s",
            [TABLE],
        )
        return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        before = rows_read(cursor)
        cursor.execute(sql, params)
        assert cursor.rowcount == 1
        return rows_read(cursor) - before


def searches_sqlite(sql, params):
    """What SQLite's plan does with the ticket table: its ``SCAN`` or
    ``SEARCH ... USING INDEX ... (columns)`` lines."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[-1] for row in cursor.fetchall() if TABLE in row[-1]]


@pytest.mark.parametrize("statistics", ["never gathered", "gathered before the tickets"])
def test_counting_open_tickets_reads_only_the_users_own(make_user, sites, statistics):
    site, other_site = sites
    if statistics == "gathered before the tickets":
        analyze()
    now = timezone.now()
    others = [make_user(f"other-{n}", other_site) for n in range(OTHERS)]
    UploadTicket.objects.bulk_create(
        ticket(others[n % OTHERS], other_site, now) for n in range(OTHERS * OTHERS_TICKETS)
    )
    user = make_user("counted", site)
    UploadTicket.objects.bulk_create(ticket(user, site, now) for _ in range(OWN_TICKETS))

    sql, params = insert_within_limit_statement(connection, ticket(user, site, now), 20, now)
    if connection.vendor == "postgresql":
        # Executed (the test's transaction rolls the insert back).
        assert rows_read_postgresql(sql, params) <= OWN_TICKETS
    else:
        (search,) = searches_sqlite(sql, params)
        assert search.startswith("SEARCH") and "user_id=?" in search, search
