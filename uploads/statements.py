"""
Statements written out once per process rather than compiled by the ORM at
each request.

A ticket and a confirm are a few short statements each, and building and
compiling them through the ORM (querysets cloned, lookups resolved, SQL
assembled) costs more of the app's CPU than running them (issue 17). The
few on those paths are written out next to the code that runs them (the
``write_*`` functions of ``uploads.services``, ``uploads.deletions`` and
``uploads.attachment``), with the database's own quoting and clauses
(``connection.ops``), so that they stay what the ORM would send on SQLite
and PostgreSQL alike; this module keeps each one once written, per kind of
database and shape (``written_once``). ``object_by_pk`` is one for any
model: a row read by its primary key, as an upload target's
``find_object`` or a project's own checks may read theirs.
"""

from functools import cache

from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.manager import BaseManager

from uploads.returning import instances_returned

# (statement's name, database vendor, shape): the SQL.
_written = {}


def written_once(connection, name, write, *shape):
    """The SQL of ``write(connection, *shape)``, written the first time
    this process needs statement ``name`` of that ``shape`` (its columns,
    its number of rows) on this kind of database."""
    key = (name, connection.vendor, shape)
    sql = _written.get(key)
    if sql is None:
        sql = _written[key] = write(connection, *shape)
    return sql


def column_of(model, quote):
    """``column(name)``: the column of ``model``'s field ``name`` (``"pk"``:
    its primary key), quoted by ``quote`` (``connection.ops.quote_name``),
    for a statement written out."""
    meta = model._meta

    def column(name):
        field = meta.pk if name == "pk" else meta.get_field(name)
        return quote(field.column)

    return column


def object_by_pk(model, pk):
    """The ``model`` instance whose primary key is ``pk``, as its base
    manager reads it, or ``None``: what ``model._base_manager.filter(pk=pk)
    .first()`` would give, its ``SELECT`` written once rather than built and
    compiled at each call. ``ValueError``, ``TypeError`` or
    ``ValidationError`` for a ``pk`` of the wrong type or out of the
    column's range.

    A model whose fields are not all in its own table (multi-table
    inheritance) is read through the base manager: one table's ``SELECT``
    cannot name them, and SQLite would read a missing column's quoted name
    as a string."""
    if not in_own_table(model):
        return model._base_manager.filter(pk=pk).first()
    connection = connections[router.db_for_read(model)]
    pk_field = model._meta.pk
    value = pk_field.to_python(pk)
    # An integer beyond the column's range fails the field's own range
    # validators, as a wrong type fails to_python(): the ORM leaves such a
    # lookup out of the SQL, and SQLite would raise OverflowError binding it.
    pk_field.run_validators(value)
    sql = written_once(connection, "by pk", write_select_by_pk, model)
    params = [pk_field.get_db_prep_value(value, connection)]
    (obj,) = instances_returned(connection, model, sql, params) or (None,)
    return obj


def reads_every_row(manager):
    """Whether ``manager`` reads every row of its model's table, from the
    database the router names: what a statement written out reads. Not so
    for one that filters (its own ``get_queryset``: tokens revoked, users
    deleted softly), of a queryset class of its own, or bound to a
    database: the ORM reads through such a manager."""
    return (
        type(manager).get_queryset is BaseManager.get_queryset
        and manager._queryset_class is QuerySet
        and manager._db is None
    )


@cache
def in_own_table(model):
    """Whether every column of ``model`` is in its own table."""
    table = model._meta.db_table
    return all(field.model._meta.db_table == table for field in model._meta.concrete_fields)


def write_select_by_pk(connection, model):
    quote = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
