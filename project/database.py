"""
The cap on each SQL statement of a web request: ``DATABASE_STATEMENT_TIMEOUT``.

A statement that runs for long holds a gunicorn thread and a PostgreSQL
backend for as long: one expensive query a client can set off (a crafted
search cost 10 s once) and a few requests would take every thread. So the
web server's connections ask PostgreSQL to cancel any statement past the
limit (``statement_timeout``, sent as a connection option: no extra round
trip), and the request gets the API's 503 ``database_unavailable``.

Only the web server's. ``migrate`` builds indexes and runs data migrations
over whole tables, the task worker renders and purges in batches, and the
commands (``purge_uploads``, ``build_renditions``, ``migrate_legacy_media``)
walk every row: no user waits on them, and cutting them short would leave
their work half done. One ``.env`` reaches all of them (docker compose's
``env_file``), so the variable cannot tell them apart: the WSGI entry point
(``project.wsgi``, which gunicorn loads) marks its process as a web server
before the settings load, and the settings set the option only there. Every
``manage.py`` command, ``runserver`` included, runs without it.

SQLite has no such limit (its ``timeout`` is how long a writer waits for
the lock): nothing is set there.
"""

_serves_web = False


def serve_web():
    """Mark this process as a web server; before the settings load."""
    global _serves_web
    _serves_web = True


def serves_web():
    return _serves_web


def limit_statements(database, milliseconds):
    """``database`` (a ``DATABASES`` entry) with PostgreSQL told to cancel
    any statement that runs longer than ``milliseconds``; as it was for 0 or
    another engine. Options already in the URL (``?options=...``) are kept."""
    if not milliseconds or database["ENGINE"] != "django.db.backends.postgresql":
        return database
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={milliseconds}".strip()
    return database
