"""
Confirm's attachment in one statement, on PostgreSQL.

Attaching is four writes that stand or fall together: the ticket confirmed,
the target's field pointed at the copy, and the upload and the replaced
image recorded for deletion. In a transaction that is six round trips with
its BEGIN and COMMIT, and confirm runs on every upload (issue 17: at most
six queries a confirm, authentication included). PostgreSQL runs the four
as one statement, a ``WITH`` of data-modifying queries, atomic on its own:

    ticket    the ticket's row, locked, if this confirm still holds its
              claim (issued, naming this confirm's final key)
    target    then the target's row, locked, if it is still of the
              ticket's site and still holds the image read before
    confirmed the ticket confirmed,          } only if both rows
    attached  the field set to the copy,     } were locked
    recorded  the unused objects recorded    }

The replaced image's renditions are named from its name
(``uploads.renditions.image_keys``), so the target's row is read first,
with no lock, and the statement attaches only if the row still holds what
was read. It answers which of the two rows it locked: when the row changed
meanwhile, the caller attaches in the locking transaction instead.

Other databases (SQLite has no data-modifying ``WITH``) and targets that
name no ``site_field`` attach in a transaction (``uploads.services``).
"""

from django.db import connections, router

from uploads.deletions import insert_records_sql, record_rows
from uploads.models import UploadTicket
from uploads.statements import column_of, written_once


def supported(target):
    """Whether confirms of ``target``'s kind can attach in one statement."""
    connection = connections[router.db_for_write(UploadTicket)]
    return (
        connection.vendor == "postgresql"
        and target.site_field is not None
        and router.db_for_write(target.model) == connection.alias
    )


def attach(ticket, changes, target, obj, old_name, new_name, unused):
    """Confirm ``ticket`` with ``changes`` ({field name: value}), point
    ``obj``'s field at ``new_name`` if it still holds ``old_name`` (``""``:
    none) and is of the ticket's site, and record ``unused`` ({key:
    reason}) for deletion, all or nothing. Returns ``(claimed, current)``:
    whether this confirm still held its claim, and whether the target's
    row was still as read; the attachment happened if both are true."""
    connection = connections[router.db_for_write(UploadTicket)]
    fields = tuple(UploadTicket._meta.get_field(name) for name in changes)
    model = target.model
    params = [
        # ticket
        UploadTicket._meta.pk.get_db_prep_value(ticket.pk, connection),
        UploadTicket.Status.ISSUED.value,
        ticket.final_key,
        # target
        model._meta.pk.get_db_prep_value(obj.pk, connection),
        ticket.site_id,
        old_name,
        # confirmed
        *(
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, changes.values(), strict=True)
        ),
        # attached
        new_name,
        # recorded
        *(value for row in record_rows(connection, unused) for value in row),
    ]
    sql = written_once(connection, "attach", write_attach, target.kind, fields, len(unused))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed, current = cursor.fetchone()
    return claimed, current


def write_attach(connection, kind, fields, records):
    """``attach``'s statement for target ``kind``, setting the ticket's
    ``fields`` and recording ``records`` objects."""
    from uploads.targets import get_target

    target = get_target(kind)
    quote = connection.ops.quote_name
    ticket_table = quote(UploadTicket._meta.db_table)
    ticket_column = column_of(UploadTicket, quote)
    model = target.model
    table = quote(model._meta.db_table)
    column = column_of(model, quote)
    pk = column("pk")
    image = column(target.field_name)
    changes = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    into, values, again = insert_records_sql(connection, records)
    return (
        f"WITH ticket AS MATERIALIZED ("
        f"SELECT {ticket_column('pk')} FROM {ticket_table}"
        f" WHERE {ticket_column('pk')} = %s AND {ticket_column('status')} = %s"
        f" AND {ticket_column('final_key')} = %s FOR UPDATE"
        f"), target AS MATERIALIZED ("
        f"SELECT {pk} FROM {table}"
        # IS NOT DISTINCT FROM: an object of no site (a legacy product) has
        # a NULL site, as its ticket has.
        f" WHERE {pk} = %s AND {column(target.site_field)} IS NOT DISTINCT FROM %s"
        f" AND COALESCE({image}, '') = %s AND EXISTS (SELECT 1 FROM ticket) FOR UPDATE"
        f"), confirmed AS ("
        f"UPDATE {ticket_table} SET {changes}"
        f" WHERE {ticket_column('pk')} = (SELECT {ticket_column('pk')} FROM ticket)"
        f" AND EXISTS (SELECT 1 FROM target)"
        f"), attached AS ("
        f"UPDATE {table} SET {image} = %s WHERE {pk} = (SELECT {pk} FROM target)"
        f"), recorded AS ("
        f"{into} SELECT * FROM ({values}) AS unused"
        f" WHERE EXISTS (SELECT 1 FROM target) {again}"
        f") SELECT EXISTS (SELECT 1 FROM ticket), EXISTS (SELECT 1 FROM target)"
    )
