"""
Statements written out once per process rather than compiled by the ORM at
each request.

A ticket and a confirm are a few short statements each, and building and
compiling them through the ORM (querysets cloned, lookups resolved, SQL
assembled) costs more of the app's CPU than running them (issue 17). The
few on those paths are written out next to the code that runs them (the
``write_*`` functions of ``uploads.services`` and ``uploads.deletions``),
with the database's own quoting and clauses (``connection.ops``), so that
they stay what the ORM would send on SQLite and PostgreSQL alike; this
module keeps each one once written, per kind of database and shape.
"""

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
