"""
UPDATE and DELETE that return the rows they changed, in one statement.

Django 5.2 has no ``RETURNING`` for ``update()`` or ``delete()``, so the
usual way is a read and a write: two round trips, and a lock between them
to keep the read true. Confirm runs on every upload and counts its queries
(issue 17), so these two compile the queryset's own UPDATE or DELETE and add
a ``RETURNING`` clause: PostgreSQL and SQLite (3.35+) both accept it. On a
database that does not, ``supported()`` is false and callers keep the read
and write.
"""

from django.db import connections


def supported(queryset):
    # The same clause as INSERT ... RETURNING, which Django knows about.
    return connections[queryset.db].features.can_return_rows_from_bulk_insert


def update_returning(queryset, **values):
    """``queryset.update(**values)``, returning the updated rows as model
    instances (with the new values), in one statement."""
    from django.db.models.sql import UpdateQuery

    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(queryset.db).as_sql()
    fields = queryset.model._meta.concrete_fields
    rows = returning(queryset, sql, params, fields)
    return [queryset.model.from_db(queryset.db, [f.attname for f in fields], row) for row in rows]


def delete_returning(queryset, field_name):
    """Delete the rows of ``queryset`` (no cascade, no signals: for models
    nothing points to) and return their ``field_name`` values, in one
    statement."""
    from django.db.models.sql import DeleteQuery

    query = queryset.query.chain(DeleteQuery)
    sql, params = query.get_compiler(queryset.db).as_sql()
    field = queryset.model._meta.get_field(field_name)
    return [row[0] for row in returning(queryset, sql, params, [field])]


def returning(queryset, sql, params, fields):
    connection = connections[queryset.db]
    table = queryset.model._meta.db_table
    columns = [field.get_col(table) for field in fields]
    quote = connection.ops.quote_name
    sql = f"{sql} RETURNING {', '.join(quote(field.column) for field in fields)}"
    converters = [
        connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        for column in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converted = []
    for row in rows:
        values = []
        for value, column, column_converters in zip(row, columns, converters, strict=True):
            for converter in column_converters:
                value = converter(value, column, connection)
            values.append(value)
        converted.append(values)
    return converted
