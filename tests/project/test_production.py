"""Production settings: secrets required, HTTPS behind a setting, /healthz,
and JSON log lines for every ticket and confirm."""

import json
import logging
import secrets
import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from inventory.models import Product
from project.jsonlog import JsonFormatter
from tests.support.processes import BASE_DIR, CLEAN, PRODUCTION, run_manage
from tests.support.tickets import ticket_request


@pytest.mark.process
def test_https_settings_pass_the_deploy_checks(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", **PRODUCTION)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for warning in ("W004", "W008", "W009", "W012", "W016", "W018", "W020"):
        assert f"security.{warning}" not in output


@pytest.mark.process
def test_without_https_the_deploy_checks_say_what_is_missing(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", **{**PRODUCTION, "DJANGO_HTTPS": "false"})

    output = result.stdout + result.stderr
    assert "security.W004" in output and "security.W012" in output


@pytest.mark.process
def test_debug_needs_no_secret_key(tmp_path):
    result = run_manage(tmp_path, "check", DJANGO_SECRET_KEY=None, DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr


@pytest.mark.process
def test_the_wsgi_application_refuses_to_start_without_a_secret_key(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import project.wsgi"],
        cwd=BASE_DIR,
        env={**CLEAN, "DJANGO_ENV_FILE": str(tmp_path / "absent.env")},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: Fix the configuration" in result.stderr
    assert "DJANGO_SECRET_KEY: required when DJANGO_DEBUG is off" in result.stderr


# --- /healthz -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["local", "s3"])
def test_healthz_checks_the_database_and_the_store(client, db, request, mode):
    if mode == "s3":
        request.getfixturevalue("s3_bucket")

    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")  # not an allowed host

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
    assert response["Cache-Control"] == "no-store"


def test_healthz_reports_an_unreachable_bucket(client, db, s3_bucket, settings, caplog):
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket-anywhere"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "storage": "unavailable"}
    assert "NoSuchBucket" in caplog.text


def test_healthz_is_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/products/").status_code == 301


# --- Logs ---------------------------------------------------------------------


def event_records(caplog):
    return [record for record in caplog.records if record.name == "uploads.events"]


@pytest.mark.django_db(transaction=True)
def test_one_log_line_per_ticket_and_confirm(sites, make_user, caplog):
    caplog.set_level(logging.INFO, logger="uploads.events")
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    product = Product.objects.create(site_configuration=sites[0], name="Riz", cug="R-1")
    body = b"\xff\xd8\xff" + b"0" * 997

    ticket = api.post("/api/uploads/tickets/", ticket_request(product, body), format="json").json()
    api.post(f"/api/uploads/tickets/{ticket['id']}/confirm/")  # nothing uploaded yet
    too_large = {**ticket_request(product, body), "size": 50 * 1024 * 1024}
    api.post("/api/uploads/tickets/", too_large, format="json")

    issued, early, invalid = event_records(caplog)
    assert (issued.event, issued.outcome, issued.site, issued.kind, issued.size) == (
        "ticket",
        "issued",
        sites[0].pk,
        "product",
        1000,
    )
    assert issued.ticket == ticket["id"]
    assert (early.event, early.outcome, early.site, early.size) == (
        "confirm",
        "upload_missing",
        sites[0].pk,
        1000,
    )
    assert (invalid.event, invalid.outcome) == ("ticket", "invalid")
    assert early.levelno == logging.WARNING


def test_json_lines_carry_the_event_fields():
    record = logging.LogRecord(
        "uploads.events", logging.INFO, __file__, 1, "ticket %s", ("x",), None
    )
    record.site, record.kind, record.size, record.outcome = 3, "product", 1000, "issued"

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "ticket x"
    assert (entry["level"], entry["logger"]) == ("INFO", "uploads.events")
    assert (entry["site"], entry["kind"], entry["size"], entry["outcome"]) == (
        3,
        "product",
        1000,
        "issued",
    )
    assert entry["time"].endswith("+00:00")


@pytest.mark.process
def test_throttles_count_across_instances_with_redis(tmp_path, redis_url):
    """Two processes, one Redis: guesses made through one instance count in
    the other."""
    prefix = f"test-{secrets.token_hex(6)}"
    env = {
        **CLEAN,
        "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": PRODUCTION["DJANGO_SECRET_KEY"],
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": prefix,
        "LOGIN_RATE": "2/min",
    }
    script = (
        "from django.test import Client; "
        "r = Client().post('/api/auth/token/', {'username': 'staff', 'password': 'x'}, "
        "content_type='application/json'); print(r.status_code)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True
    )

    def instance():
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return int(result.stdout.split()[-1])

    assert [instance(), instance(), instance()] == [400, 400, 429]
