"""PostgreSQL: a user's open tickets are counted one request at a time.

A ticket is inserted by one statement that counts its user's open tickets
and inserts only below the limit (``uploads.services.insert_within_limit``).
Under READ COMMITTED that count sees only what was committed when the
statement began, so requests sent at once each saw room for one more: 8 at
once with a limit of 2 got 5 or 6 tickets. The count now goes through this
function. It takes a transaction lock on the user first, which a concurrent
request for the same user waits on until the first one's insert commits;
being VOLATILE, its count then reads a snapshot taken after that wait and
sees the ticket just inserted. Still one statement, one round trip.

SQLite needs no such function: a writing statement takes the database's
write lock before it reads, so such statements run one at a time.
"""

from django.db import migrations

FUNCTION = "uploads_open_tickets"  # uploads.services.OPEN_TICKETS_FUNCTION


def arguments(schema_editor, ticket):
    """The function's argument types: the user's key, the status, the time."""
    connection = schema_editor.connection
    meta = ticket._meta
    user = meta.get_field("user").target_field.rel_db_type(connection)
    status = meta.get_field("status").db_type(connection).split("(")[0]  # varchar
    expires = meta.get_field("expires_at").db_type(connection)
    return f"{user}, {status}, {expires}"


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    ticket = apps.get_model("uploads", "UploadTicket")
    meta = ticket._meta
    quote = schema_editor.quote_name
    table = quote(meta.db_table)
    user, status, expires = (
        quote(meta.get_field(name).column) for name in ("user", "status", "expires_at")
    )
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}({arguments(schema_editor, ticket)})"
        " RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$ BEGIN"
        f" PERFORM pg_advisory_xact_lock(hashtextextended('{meta.db_table}:' || $1::text, 0));"
        f" RETURN (SELECT COUNT(*) FROM {table}"
        f" WHERE {user} = $1 AND {status} = $2 AND {expires} > $3);"
        " END $$",
        params=None,
    )


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    ticket = apps.get_model("uploads", "UploadTicket")
    schema_editor.execute(
        f"DROP FUNCTION IF EXISTS {FUNCTION}({arguments(schema_editor, ticket)})", params=None
    )


class Migration(migrations.Migration):

    dependencies = [
        ("uploads", "0009_ticket_indexes"),
    ]

    operations = [
        migrations.RunPython(create_function, drop_function, elidable=False),
    ]
