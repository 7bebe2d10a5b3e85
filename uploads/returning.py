"""
UPDATE and DELETE that return the rows they changed, in one statement.

Django 5.2 has no ``RETURNING`` for ``update()`` or ``delete()``, so the
usual way is a read and a write: two round trips, and a lock between them
to keep the read true. Confirm runs on every upload and counts its queries
(issue 17), so its claim is an UPDATE written out with a ``RETURNING``
clause (``uploads.services.write_claim``), and ``delete_returning`` and
``update_returning`` compile a queryset's own DELETE or UPDATE and add one:
PostgreSQL and SQLite (3.35+) both accept it. On a database that does not,
``supported()`` is false and callers keep the read and write.
"""

from django.db import connections


def supported(queryset):
    return supported_by(connections[queryset.db])


def supported_by(connection):
    # The same clause as INSERT ... RETURNING, which Django knows about.
    return connection.features.can_return_rows_from_bulk_insert


def delete_returning(queryset, field_name):
    """Delete the rows of ``queryset`` (no cascade, no signals: for models
    nothing points to) and return their ``field_name`` values, in one
    statement."""
    from django.db.models.sql import DeleteQuery

    query = queryset.query.chain(DeleteQuery)
    sql, params = query.get_compiler(queryset.db).as_sql()
    field = queryset.model._meta.get_field(field_name)
    return [row[0] for row in returning(queryset, sql, params, [field])]


def update_returning(queryset, values):
    """Update the rows of ``queryset`` with ``values`` (``{field name:
    value or expression}``; no signals, no ``auto_now``, as ``update()``)
    and return them, as model instances after the update, in one
    statement."""
    from django.db.models.sql import UpdateQuery

    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    query.annotations = {}
    sql, params = query.get_compiler(queryset.db).as_sql()
    connection = connections[queryset.db]
    sql = f"{sql} {returning_clause(connection, queryset.model._meta.concrete_fields)}"
    return instances_returned(connection, queryset.model, sql, params)


def returning(queryset, sql, params, fields):
    connection = connections[queryset.db]
    sql = f"{sql} {returning_clause(connection, fields)}"
    return fetch_returned(connection, queryset.model, sql, params, fields)


def returning_clause(connection, fields):
    """``RETURNING`` the columns of ``fields``, for a statement written out
    (``uploads.statements``)."""
    quote = connection.ops.quote_name
    return f"RETURNING {', '.join(quote(field.column) for field in fields)}"


def fetch_returned(connection, model, sql, params, fields):
    """The rows a statement ending in ``returning_clause(fields)`` returns,
    their values converted as the ORM converts them."""
    table = model._meta.db_table
    return fetch_converted(connection, sql, params, [field.get_col(table) for field in fields])


def fetch_converted(connection, sql, params, columns):
    """The rows of a statement whose columns are ``columns`` (the ORM's
    ``Col`` expressions, of one table or of several joined), their values
    converted as the ORM converts them."""
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


def instances_returned(connection, model, sql, params):
    """The model instances of the rows a statement returns whose columns
    are ``model._meta.concrete_fields``, in order: one ending in
    ``returning_clause(model._meta.concrete_fields)``, or a ``SELECT`` of
    them (``uploads.statements.object_by_pk``)."""
    fields = model._meta.concrete_fields
    rows = fetch_returned(connection, model, sql, params, fields)
    names = [field.attname for field in fields]
    return [model.from_db(connection.alias, names, row) for row in rows]
