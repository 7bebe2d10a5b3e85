"""
DATABASE_STATEMENT_TIMEOUT: PostgreSQL cancels any SQL statement of a web
request that runs past it, so that one expensive query (a crafted search
cost 10 s once) holds a gunicorn thread and a database backend for that
long at most; the client gets the API's 503, a page an error page. Web
processes only (``project.wsgi``): migrate, the task worker and the
commands run without it (``project.database``).
"""

import logging
import subprocess
import sys

import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from inventory.models import Product
from project.database import limit_statements
from tests.support.processes import BASE_DIR, environment, run_manage

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="statement_timeout is PostgreSQL's (DATABASE_URL); SQLite has none",
)

SHOW = (
    "from django.db import connection; cursor = connection.cursor(); "
    "cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])"
)


def postgres(**options):
    return {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", **options}


def test_the_limit_is_a_connection_option_of_postgresql_only():
    assert limit_statements(postgres(), 5000)["OPTIONS"] == {"options": "-c statement_timeout=5000"}
    # Options of the URL (?options=...) are kept.
    with_url_options = postgres(OPTIONS={"options": "-c search_path=shop", "sslmode": "require"})
    assert limit_statements(with_url_options, 250)["OPTIONS"] == {
        "options": "-c search_path=shop -c statement_timeout=250",
        "sslmode": "require",
    }
    assert "OPTIONS" not in limit_statements(postgres(), 0), "0: no limit"
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3", "OPTIONS": {}}
    assert limit_statements(sqlite, 5000)["OPTIONS"] == {}


# --- Which processes have it: the real entry points, on PostgreSQL -----------


def database_url():
    """The test database's URL, for processes started by the test."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"


def web_process_shows(tmp_path, **variables):
    """``SHOW statement_timeout`` in a process that loaded the WSGI
    application, as each gunicorn worker does."""
    result = subprocess.run(
        [sys.executable, "-c", f"import project.wsgi; {SHOW}"],
        cwd=BASE_DIR,
        env=environment(tmp_path, DATABASE_URL=database_url(), **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-1]


def command_shows(tmp_path, **variables):
    result = run_manage(tmp_path, "shell", "-c", SHOW, DATABASE_URL=database_url(), **variables)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-1]


@postgresql
@pytest.mark.process
@pytest.mark.django_db
def test_web_processes_cancel_statements_past_the_limit(tmp_path):
    assert web_process_shows(tmp_path, DATABASE_STATEMENT_TIMEOUT="1234") == "1234ms"
    assert web_process_shows(tmp_path) == "5s", "the default, as .env.example says"
    assert web_process_shows(tmp_path, DATABASE_STATEMENT_TIMEOUT="0") == "0", "no limit"


@postgresql
@pytest.mark.process
@pytest.mark.django_db
def test_commands_run_without_the_limit(tmp_path):
    """migrate, db_worker and the commands are manage.py's, as the compose
    file and the docs run them, with the same .env as the web server."""
    assert command_shows(tmp_path, DATABASE_STATEMENT_TIMEOUT="1234") == "0"
    assert command_shows(tmp_path) == "0"


# --- What a request whose statement is cancelled gets -----------------------


@pytest.fixture
def statement_timeout():
    """The test connection as a web process has it, with a limit of 200 ms
    (reconnected, so that the option is sent)."""
    options = dict(connection.settings_dict.get("OPTIONS", {}))
    connection.close()
    limit_statements(connection.settings_dict, 200)
    yield
    connection.close()
    connection.settings_dict["OPTIONS"] = options


def slow_products(execute, sql, params, many, context):
    """The products' query, as slow as the expensive one an attacker found."""
    if 'FROM "inventory_product"' in sql:
        return execute("SELECT pg_sleep(2)", (), many, context)
    return execute(sql, params, many, context)


@pytest.fixture
def boss(sites, make_user, local_media):
    user = make_user("boss", sites[0], is_site_admin=True)
    Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    return user


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_statement_gets_the_apis_503(boss, statement_timeout, caplog):
    client = Client(
        raise_request_exception=False,
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=boss).key}",
    )
    with connection.execute_wrapper(slow_products), caplog.at_level(logging.ERROR):
        response = client.get("/api/products/", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "database_unavailable",
        "detail": "Le service est indisponible. Réessayez dans un instant.",
    }
    assert int(response["Retry-After"]) > 0
    assert any(
        record.getMessage().startswith("Database statement cancelled: ")
        and "statement timeout" in record.getMessage()
        for record in caplog.records
    ), [record.getMessage() for record in caplog.records]
    # The connection serves the next request.
    assert client.get("/api/products/").status_code == 200


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_statement_gets_a_page_that_says_to_try_again(boss, statement_timeout):
    client = Client(raise_request_exception=False)
    client.force_login(boss)
    with connection.execute_wrapper(slow_products):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Le service est occupé ou indisponible. Réessayez dans un instant." in page
    assert "Traceback" not in page and "pg_sleep" not in page
    assert client.get("/").status_code == 200
