"""Configuration from the environment: a bad or half-set variable stops
``manage.py check`` with the name of the variable, never a traceback."""

import os
import re
import runpy
import shutil
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from dotenv import dotenv_values

from project.env import Env
from project.storages import LOCAL_MEDIA, S3_MEDIA, S3_STATIC, SERVED_STATIC, storages_for
from tests.support.processes import BASE_DIR, CLEAN, ENV_EXAMPLE, environment, run_manage
from uploads.conf import DEFAULTS as UPLOAD_DEFAULTS


def manage_check(tmp_path, **variables):
    return run_manage(tmp_path, "check", **variables)


@pytest.mark.process
def test_check_passes_in_filesystem_mode(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.process
def test_check_passes_with_a_complete_bucket_configuration(tmp_path):
    result = manage_check(
        tmp_path,
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.process
@pytest.mark.parametrize("missing", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_check_fails_on_a_bucket_without_credentials(tmp_path, missing):
    variables = {
        "AWS_STORAGE_BUCKET_NAME": "shop-media",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    del variables[missing]
    result = manage_check(tmp_path, **variables)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "uploads.E001" in result.stderr
    assert f"but {missing} is empty" in result.stderr


# --- Every variable with a format -------------------------------------------

BUCKET = {
    "AWS_STORAGE_BUCKET_NAME": "shop-media",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
}
# Values that must pass, several forms each where there are several.
GOOD = {
    "DJANGO_DEBUG": ["false", "1"],
    "DJANGO_ALLOWED_HOSTS": ["shop.example.com,.example.com", "127.0.0.1,[::1],*"],
    "DJANGO_CSRF_TRUSTED_ORIGINS": ["https://shop.example.com,http://localhost:8000"],
    "DJANGO_HTTPS": ["true", "false"],
    "DJANGO_SSL_REDIRECT": ["false"],
    "DJANGO_HSTS_SECONDS": ["0", "31536000"],
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": ["yes"],
    "DJANGO_LOG_FORMAT": ["json", "TEXT"],
    "DJANGO_LOG_LEVEL": ["warning"],
    "DATABASE_URL": ["postgres://inventory:secret@db:5432/inventory"],
    "DATABASE_STATEMENT_TIMEOUT": ["0", "5000", "86400000"],
    "REDIS_URL": [
        "redis://127.0.0.1:6379/0",
        "rediss://:password@cache.example.com:6380/1,redis://replica:6379/1",
        "unix:///run/redis/redis.sock?db=2",
    ],
    "AWS_STORAGE_BUCKET_NAME": ["shop-media"],
    "AWS_S3_REGION_NAME": ["eu-west-3", "us-east-1"],
    "AWS_S3_ENDPOINT_URL": ["http://s3:8333"],
    "AWS_S3_PUBLIC_ENDPOINT_URL": ["https://s3.example.com"],
    "DJANGO_STATIC_IN_BUCKET": ["false"],
    "AWS_S3_CUSTOM_DOMAIN": ["d111111abcdef8.cloudfront.net"],
    "AWS_QUERYSTRING_EXPIRE": ["604800", "1"],
    "AWS_S3_CONNECT_TIMEOUT": ["2", "0.5"],
    "AWS_S3_READ_TIMEOUT": ["10"],
    "AWS_S3_MAX_ATTEMPTS": ["1", "3"],
    "AWS_S3_RETRY_MODE": ["adaptive", "Standard"],
    "UPLOADS_TICKET_TTL": ["1", "3600"],
    "UPLOADS_MAX_SIZE": ["26214400"],
    "UPLOADS_PIN_CHECKSUM": ["false"],
    "UPLOADS_FULL_DECODE": ["true"],
    "UPLOADS_URL_WINDOW": ["1", "302400"],
    "UPLOADS_STORE_CONCURRENCY": ["4"],
    "UPLOADS_STORE_WAIT": ["0", "0.5", "2"],
    "UPLOADS_STORE_FAILURES": ["1"],
    "UPLOADS_STORE_COOLDOWN": ["0.5", "30"],
    "UPLOADS_TICKET_RATE": ["120/hour", "5/s"],
    "LOGIN_RATE": ["10/min", "1000/day"],
    "LOGIN_FAILURE_LIMIT": ["10", "1"],
    "LOGIN_COOLOFF": ["15", "1440"],
    "DJANGO_NUM_PROXIES": ["0", "2"],
    "GUNICORN_WORKERS": ["4", "1"],
    "GUNICORN_THREADS": ["8"],
    "GUNICORN_TIMEOUT": ["0", "120"],
    "GUNICORN_BIND": ["0.0.0.0:8000", "unix:/run/gunicorn.sock"],
    "FORWARDED_ALLOW_IPS": ["10.0.0.0/8,127.0.0.1", "*"],
}
# The values of the issue: each passed check, then every API request
# answered 500 (or, for the TTL, every ticket was born expired).
ISSUE_CASES = [
    (
        "LOGIN_RATE",
        "ten/min",
        "LOGIN_RATE: expected a rate such as 120/hour: a number of requests above 0, "
        "a slash, then s, min, hour or day, got 'ten/min'.",
    ),
    ("UPLOADS_TICKET_RATE", "120", "UPLOADS_TICKET_RATE: expected a rate such as 120/hour"),
    (
        "REDIS_URL",
        "localhost:6379",
        "REDIS_URL: expected a redis://, rediss:// or unix:// URL such as "
        "redis://127.0.0.1:6379/0, got 'localhost:6379'.",
    ),
    (
        "UPLOADS_TICKET_TTL",
        "-600",
        "UPLOADS_TICKET_TTL: expected a whole number of at least 1, got '-600'.",
    ),
]
# Values that must stop check, with the start of the error: the variable's
# name, then what is wrong where the test spells it out.
BAD = [
    *ISSUE_CASES,
    ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG: expected true or false, got 'maybe'."),
    (
        "DJANGO_ALLOWED_HOSTS",
        "https://shop.example.com",
        "DJANGO_ALLOWED_HOSTS: expected host names such as shop.example.com",
    ),
    ("DJANGO_ALLOWED_HOSTS", "shop.example.com:8000", "DJANGO_ALLOWED_HOSTS"),
    ("DJANGO_ALLOWED_HOSTS", "*.example.com", "DJANGO_ALLOWED_HOSTS"),
    (
        "DJANGO_CSRF_TRUSTED_ORIGINS",
        "shop.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS: expected origins such as https://",
    ),
    ("DJANGO_HTTPS", "si", "DJANGO_HTTPS"),
    ("DJANGO_SSL_REDIRECT", "nope", "DJANGO_SSL_REDIRECT"),
    ("DJANGO_HSTS_SECONDS", "1y", "DJANGO_HSTS_SECONDS"),
    ("DJANGO_HSTS_SECONDS", "-1", "DJANGO_HSTS_SECONDS: expected a whole number of at least 0"),
    ("DJANGO_HSTS_INCLUDE_SUBDOMAINS", "both", "DJANGO_HSTS_INCLUDE_SUBDOMAINS"),
    ("DJANGO_LOG_FORMAT", "xml", "DJANGO_LOG_FORMAT: expected one of json, text"),
    ("DJANGO_LOG_LEVEL", "LOUD", "DJANGO_LOG_LEVEL: expected one of DEBUG, INFO"),
    ("DATABASE_URL", "mysqll://db/x", "DATABASE_URL: not a usable database URL"),
    ("DATABASE_URL", "postgres://", "DATABASE_URL: no database name"),
    ("DATABASE_URL", "postgres://u:p@db:port/x", "DATABASE_URL"),
    (
        "DATABASE_STATEMENT_TIMEOUT",
        "5s",
        "DATABASE_STATEMENT_TIMEOUT: expected a whole number from 0 to 86400000, got '5s'.",
    ),
    ("DATABASE_STATEMENT_TIMEOUT", "-1", "DATABASE_STATEMENT_TIMEOUT"),
    ("REDIS_URL", "redis://127.0.0.1:port/0", "REDIS_URL"),
    ("REDIS_URL", "redis://127.0.0.1:6379/0,", "REDIS_URL"),
    ("AWS_STORAGE_BUCKET_NAME", "Shop_Media", "AWS_STORAGE_BUCKET_NAME 'Shop_Media' is not"),
    ("AWS_S3_REGION_NAME", "Paris", "AWS_S3_REGION_NAME 'Paris' is not a region name"),
    ("AWS_S3_ENDPOINT_URL", "localhost:8333", "AWS_S3_ENDPOINT_URL: expected an http"),
    ("AWS_S3_PUBLIC_ENDPOINT_URL", "s3.example.com", "AWS_S3_PUBLIC_ENDPOINT_URL"),
    ("DJANGO_STATIC_IN_BUCKET", "sometimes", "DJANGO_STATIC_IN_BUCKET"),
    ("AWS_S3_CUSTOM_DOMAIN", "https://x", "AWS_S3_CUSTOM_DOMAIN: expected a bare domain"),
    ("AWS_QUERYSTRING_EXPIRE", "1h", "AWS_QUERYSTRING_EXPIRE: expected a whole number"),
    ("AWS_QUERYSTRING_EXPIRE", "0", "AWS_QUERYSTRING_EXPIRE"),
    (
        "AWS_QUERYSTRING_EXPIRE",
        "604801",
        "AWS_QUERYSTRING_EXPIRE: expected a whole number from 1 to 604800, got '604801'.",
    ),
    (
        "AWS_S3_CONNECT_TIMEOUT",
        "0",
        "AWS_S3_CONNECT_TIMEOUT: expected a number of seconds above 0, such as 2 or 0.5, "
        "at most 300, got '0'.",
    ),
    ("AWS_S3_READ_TIMEOUT", "2s", "AWS_S3_READ_TIMEOUT: expected a number of seconds"),
    ("AWS_S3_MAX_ATTEMPTS", "0", "AWS_S3_MAX_ATTEMPTS: expected a whole number from 1 to 10"),
    ("AWS_S3_RETRY_MODE", "exponential", "AWS_S3_RETRY_MODE: expected one of standard"),
    ("UPLOADS_STORE_CONCURRENCY", "0", "UPLOADS_STORE_CONCURRENCY: expected a whole number"),
    ("UPLOADS_STORE_FAILURES", "none", "UPLOADS_STORE_FAILURES"),
    (
        "UPLOADS_STORE_WAIT",
        "-1",
        "UPLOADS_STORE_WAIT: expected a number of seconds from 0, such as 2 or 0.5, at most 60",
    ),
    ("UPLOADS_STORE_WAIT", "inf", "UPLOADS_STORE_WAIT: expected a number of seconds from 0"),
    ("UPLOADS_STORE_COOLDOWN", "nan", "UPLOADS_STORE_COOLDOWN: expected a number of seconds"),
    ("UPLOADS_TICKET_TTL", "10m", "UPLOADS_TICKET_TTL"),
    ("UPLOADS_MAX_SIZE", "20MB", "UPLOADS_MAX_SIZE: expected a whole number of at least 1"),
    ("UPLOADS_PIN_CHECKSUM", "sometimes", "UPLOADS_PIN_CHECKSUM"),
    ("UPLOADS_FULL_DECODE", "full", "UPLOADS_FULL_DECODE"),
    (
        "UPLOADS_URL_WINDOW",
        "302401",
        "UPLOADS_URL_WINDOW: expected a whole number from 1 to 302400",
    ),
    ("UPLOADS_TICKET_RATE", "120/fortnight", "UPLOADS_TICKET_RATE"),
    ("UPLOADS_TICKET_RATE", "0/hour", "UPLOADS_TICKET_RATE"),
    ("LOGIN_RATE", "10/", "LOGIN_RATE"),
    ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT: expected a whole number of at least 1"),
    ("LOGIN_COOLOFF", "15m", "LOGIN_COOLOFF: expected a whole number from 1 to 1440"),
    ("DJANGO_NUM_PROXIES", "-1", "DJANGO_NUM_PROXIES: expected a whole number from 0 to 10"),
    ("DJANGO_NUM_PROXIES", "yes", "DJANGO_NUM_PROXIES"),
    ("GUNICORN_WORKERS", "many", "GUNICORN_WORKERS: expected a whole number of at least 1"),
    ("GUNICORN_WORKERS", "0", "GUNICORN_WORKERS"),
    ("GUNICORN_THREADS", "0", "GUNICORN_THREADS"),
    ("GUNICORN_TIMEOUT", "-1", "GUNICORN_TIMEOUT"),
    ("GUNICORN_BIND", "0.0.0.0:http", "GUNICORN_BIND: expected host:port"),
    ("FORWARDED_ALLOW_IPS", "proxy.local", "FORWARDED_ALLOW_IPS: expected IP addresses"),
]
# Variables of .env.example with no format to check: any text will do, or
# only docker compose reads them (and refuses a bad port itself). A missing
# secret key or bucket credential has its own tests.
FREE_FORM = {
    "DJANGO_SECRET_KEY",
    "CACHE_KEY_PREFIX",
    "UPLOADS_CACHE_CONTROL",
    "DJANGO_MEDIA_ROOT",
    "DJANGO_STATIC_ROOT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "APP_PORT",
    "S3_PORT",
}
# The bucket's name and region are checked in S3 mode, where they are used.
NEEDS_BUCKET = {"AWS_STORAGE_BUCKET_NAME", "AWS_S3_REGION_NAME"}


def test_every_variable_of_env_example_is_free_form_or_in_the_tables():
    assert ENV_EXAMPLE - FREE_FORM - GOOD.keys() == set()
    assert {variable for variable, _, _ in BAD} == GOOD.keys()


def in_rounds(cases, context=None):
    """Each of ``cases`` (variable, value, ...), with the variables of the
    run that checks it: one value of each variable a run, so that a run
    checks many values at once (the checks report every problem they find,
    and each case looks for its own message). A run of ``manage.py check``
    costs some 2 s of CPU; one a case, BAD alone took over a minute."""
    rounds = []
    placed = {}
    for case in cases:
        variable, value = case[:2]
        round_ = next((round_ for round_ in rounds if variable not in round_), None)
        if round_ is None:
            round_ = dict(context or {})
            rounds.append(round_)
        round_[variable] = value
        placed[case] = round_
    return placed


# The bucket's variables in S3 mode; the others in filesystem mode, where
# they are checked all the same.
BAD_RUNS = {
    **in_rounds([case for case in BAD if case[0] not in NEEDS_BUCKET]),
    **in_rounds([case for case in BAD if case[0] in NEEDS_BUCKET], context=BUCKET),
}


@pytest.fixture(scope="module")
def run_once(tmp_path_factory):
    """``run_once(command, **variables)``: what ``command`` returned for
    these variables, run once in this module (each pytest-xdist worker runs
    it once at most)."""
    results = {}

    def run(command, **variables):
        key = (command, tuple(sorted(variables.items())))
        if key not in results:
            results[key] = command(tmp_path_factory.mktemp("run"), **variables)
        return results[key]

    return run


def test_each_run_checks_one_value_of_a_variable():
    runs = {id(variables) for variables in BAD_RUNS.values()}
    # As few runs as the variable with the most bad values in each mode.
    most = [
        max(Counter(case[0] for case in BAD if (case[0] in NEEDS_BUCKET) is bucket).values())
        for bucket in (False, True)
    ]
    assert len(runs) == sum(most)
    for (variable, value, _), variables in BAD_RUNS.items():
        assert variables[variable] == value
        assert variable not in NEEDS_BUCKET or variables.keys() >= BUCKET.keys()
        assert variable in NEEDS_BUCKET or not variables.keys() & BUCKET.keys()


@pytest.mark.process
@pytest.mark.parametrize("variable, value, message", BAD)
def test_check_names_a_malformed_variable(run_once, variable, value, message):
    result = run_once(manage_check, **BAD_RUNS[variable, value, message])

    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    # "?: (project.E001) LOGIN_RATE: expected ..."
    error = re.compile(rf"^\?: \([a-z]+\.E\d+\) {re.escape(message)}", re.M)
    assert error.search(result.stderr), result.stderr


@pytest.mark.process
@pytest.mark.parametrize("form", range(max(map(len, GOOD.values()))))
def test_check_passes_good_values_of_every_variable(tmp_path, form):
    good = {variable: values[form % len(values)] for variable, values in GOOD.items()}
    result = manage_check(tmp_path, **{**BUCKET, **good})

    assert result.returncode == 0, result.stderr


@pytest.mark.process
def test_check_warns_when_every_thread_may_wait_on_the_store(tmp_path):
    result = manage_check(tmp_path, GUNICORN_THREADS="4", UPLOADS_STORE_CONCURRENCY="4")

    assert result.returncode == 0, result.stderr
    assert (
        "?: (project.W001) UPLOADS_STORE_CONCURRENCY (4) is not below GUNICORN_THREADS (4)"
        in result.stderr
    )
    assert "W001" not in manage_check(tmp_path, GUNICORN_THREADS="8").stderr


@pytest.mark.process
def test_check_requires_a_secret_key_without_debug(tmp_path):
    result = manage_check(tmp_path, DJANGO_SECRET_KEY=None)

    assert result.returncode == 1
    assert "?: (project.E001) DJANGO_SECRET_KEY: required when DJANGO_DEBUG is off" in (
        result.stderr
    )
    assert "HINT: Fix DJANGO_SECRET_KEY in the environment or in .env" in result.stderr


GUNICORN_CASES = [
    *ISSUE_CASES,
    ("GUNICORN_WORKERS", "many", "GUNICORN_WORKERS: expected a whole number of at least 1"),
]
GUNICORN_RUNS = in_rounds(GUNICORN_CASES)


def start_gunicorn(tmp_path, **variables):
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    return subprocess.run(
        [gunicorn, "project.wsgi", "--config", "gunicorn.conf.py"],
        cwd=BASE_DIR,
        env=environment(tmp_path, GUNICORN_BIND="127.0.0.1:0", **variables),
        capture_output=True,
        text=True,
        timeout=30,  # a gunicorn that started would serve until killed here
    )


@pytest.mark.process
@pytest.mark.parametrize("variable, value, message", GUNICORN_CASES)
def test_gunicorn_refuses_to_start_on_a_bad_value(run_once, variable, value, message):
    """The production server runs the checks before any worker starts:
    without them it served 500s (or, for GUNICORN_WORKERS, died on a
    traceback while reading its configuration)."""
    result = run_once(start_gunicorn, **GUNICORN_RUNS[variable, value, message])

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"?: (project.E001) {message}" in result.stderr


@pytest.mark.process
def test_check_refuses_an_invalid_bucket_name(tmp_path):
    result = manage_check(
        tmp_path,
        AWS_STORAGE_BUCKET_NAME="Shop_Media",
        AWS_ACCESS_KEY_ID="a",
        AWS_SECRET_ACCESS_KEY="b",
    )
    assert result.returncode == 1
    assert "uploads.E002" in result.stderr


@pytest.mark.process
def test_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("AWS_STORAGE_BUCKET_NAME=from-dotenv\nAWS_S3_REGION_NAME=af-south-1\n")
    code = (
        "from django.conf import settings;"
        "print(settings.AWS_STORAGE_BUCKET_NAME, settings.AWS_S3_REGION_NAME)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            **CLEAN,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DJANGO_ENV_FILE": str(env_file),
            "AWS_S3_REGION_NAME": "eu-west-1",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["from-dotenv", "eu-west-1"], result.stderr


def test_env_defaults_and_lists():
    env = Env({"HOSTS": " a.example.com, ,b.example.com ", "FLAG": "Yes"})
    assert env.list("HOSTS") == ["a.example.com", "b.example.com"]
    assert env.bool("FLAG") is True
    assert env.bool("MISSING", default=True) is True
    assert env.str("MISSING", "fallback") == "fallback"
    assert env.problems == []


def test_env_settings_use_storages_not_default_file_storage(settings):
    assert not hasattr(settings, "DEFAULT_FILE_STORAGE")
    assert set(settings.STORAGES) == {"default", "staticfiles"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "variables, media, static",
    [
        ({}, LOCAL_MEDIA, SERVED_STATIC),
        ({"AWS_STORAGE_BUCKET_NAME": "shop-media"}, S3_MEDIA, S3_STATIC),
        (
            {"AWS_STORAGE_BUCKET_NAME": "shop-media", "DJANGO_STATIC_IN_BUCKET": "false"},
            S3_MEDIA,
            SERVED_STATIC,
        ),
    ],
)
def test_the_environment_picks_the_storage_classes(tmp_path, variables, media, static):
    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        "from django.core.files.storage import storages as s; "
        "print(type(s['default']).__name__, type(s['staticfiles']).__name__)",
        **variables,
    )

    assert result.returncode == 0, result.stderr
    names = result.stdout.split()[-2:]
    assert names == [media.rpartition(".")[2], static.rpartition(".")[2]]


@pytest.mark.process
def test_the_store_guard_has_the_documented_defaults(tmp_path):
    """The README and .env.example promise them: 4 store calls at once per
    process, one more waits 0.5 s for a slot, 3 failures open the circuit
    for 5 s."""
    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        "from uploads.guard import store_guard; g = store_guard('http://store'); "
        "print(g.bulkhead.limit, g.bulkhead.wait, g.breaker.threshold, g.breaker.cooldown)",
    )

    assert result.returncode == 0, result.stderr
    assert [float(n) for n in result.stdout.split()[-4:]] == [4, 0.5, 3, 5]


# Reads through project.env (env.int("NAME", ...)) or os.environ.
PYTHON_READ = r'(?:env\.\w+|environ\.get|getenv|environ\[)\(?\s*"([A-Z0-9_]+)"'


def python_reads(path):
    return set(re.findall(PYTHON_READ, (BASE_DIR / path).read_text()))


def compose_reads():
    """The variables docker-compose.yml takes from .env for its own use. One
    handed on to a container under its own name (``LOGIN_RATE:
    ${LOGIN_RATE:-10/min}``) is not read by compose: whatever runs there
    must read it."""
    read = set()
    for line in (BASE_DIR / "docker-compose.yml").read_text().splitlines():
        handed_on = re.match(r"\s*([A-Z0-9_]+):", line)
        for name in re.findall(r"\$\{([A-Z0-9_]+)", line):
            if not (handed_on and handed_on[1] == name):
                read.add(name)
    return read


def test_every_variable_read_by_the_settings_is_documented_in_env_example():
    # DJANGO_ENV_FILE names the file itself.
    read = python_reads("project/settings.py") - {"DJANGO_ENV_FILE"}

    assert len(read) > 20
    assert read - ENV_EXAMPLE == set()


def test_every_variable_of_env_example_is_read():
    """By the settings, by gunicorn.conf.py, or by docker compose itself
    (ports, the database's name and password)."""
    read = python_reads("project/settings.py") | python_reads("gunicorn.conf.py") | compose_reads()

    assert {"DJANGO_DEBUG", "GUNICORN_WORKERS", "POSTGRES_PASSWORD"} <= read
    assert ENV_EXAMPLE - read == set()


def test_readme_configuration_table_lists_every_variable_of_env_example():
    readme = (BASE_DIR / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n#", 1)[0]
    table = set()
    for row in re.findall(r"^\| *(.+?) *\|", section, re.M):
        table |= set(re.findall(r"`([A-Z0-9_]+)`", row))

    assert table - ENV_EXAMPLE == set()
    assert ENV_EXAMPLE - table == set()


@pytest.mark.parametrize(
    "bucket, backend, message",
    [
        ("shop-media", LOCAL_MEDIA, "AWS_STORAGE_BUCKET_NAME is set, but STORAGES['default']"),
        ("", S3_MEDIA, "but AWS_STORAGE_BUCKET_NAME is empty"),
    ],
)
def test_check_refuses_a_default_storage_of_the_other_mode(settings, bucket, backend, message):
    from django.core.checks import run_checks

    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": backend}}

    errors = [error for error in run_checks() if error.id == "uploads.E004"]

    assert len(errors) == 1 and message in errors[0].msg


def test_check_accepts_the_storages_of_each_mode(settings):
    from django.core.checks import run_checks

    for bucket in ("", "shop-media"):
        settings.AWS_STORAGE_BUCKET_NAME = bucket
        settings.STORAGES = storages_for(bucket=bucket, static_in_bucket=True)
        assert not {"uploads.E004", "uploads.E006"} & {error.id for error in run_checks()}


class OverwritingStorage(FileSystemStorage):
    """A project's own storage that writes over a file in one step."""

    def overwrite(self, name, content):
        return name


@pytest.mark.parametrize(
    "bucket, backend",
    [
        ("", "django.core.files.storage.FileSystemStorage"),
        ("shop-media", "storages.backends.s3.S3Storage"),
    ],
)
def test_check_refuses_a_default_storage_the_renditions_cannot_write_with(
    settings, bucket, backend
):
    """Renditions are written with the default storage's ``overwrite``: with
    any other storage, uploads went through, and every image's renditions
    failed in the worker, each after its retries."""
    from django.core.checks import run_checks

    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": backend}}

    (error,) = [error for error in run_checks() if error.id == "uploads.E006"]

    assert error.msg == (
        f"STORAGES['default'] is {backend}, which has no overwrite(name, content): "
        "every image's renditions would fail in the task worker."
    )
    assert error.hint.startswith(
        "Use uploads.media.S3MediaStorage with a bucket, uploads.media.LocalMediaStorage "
        "without one; or give your storage an overwrite(name, content)"
    )

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.{OverwritingStorage.__name__}"},
    }
    assert "uploads.E006" not in {error.id for error in run_checks()}, "one of its own"


#: Settings of these types are compared; the rest are classes and modules.
PLAIN = (bool, int, float, str, list, tuple, dict, Path, timedelta, type(None))


def configuration(monkeypatch, tmp_path, variables):
    """What the settings and gunicorn.conf.py make of ``variables`` alone:
    their names of plain values, the UPLOADS setting with uploads/conf.py's
    defaults filled in, as the app reads it."""
    for name in ENV_EXAMPLE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("DJANGO_SECRET_KEY", "a-long-random-secret-for-this-test-only-0123456789")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    app = runpy.run_path(str(BASE_DIR / "project" / "settings.py"))
    app["UPLOADS"] = {**UPLOAD_DEFAULTS, **app["UPLOADS"]}
    gunicorn = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    found = {**app, **{f"gunicorn {name}": value for name, value in gunicorn.items()}}
    return {
        name: value
        for name, value in found.items()
        if not name.startswith("_") and isinstance(value, PLAIN)
    }


def test_the_values_of_env_example_are_the_defaults(monkeypatch, tmp_path):
    """.env.example and the README give each variable's default: copying the
    file to .env, as the README says to, changes nothing it does not ask to
    change (the variables it leaves empty, such as the secret key)."""
    given = dotenv_values(BASE_DIR / ".env.example")
    given = {name: value for name, value in given.items() if value}
    assert {"UPLOADS_TICKET_TTL", "GUNICORN_THREADS", "DJANGO_HSTS_SECONDS"} <= given.keys()

    defaults = configuration(monkeypatch, tmp_path, {})
    assert {
        "AWS_QUERYSTRING_EXPIRE",
        "UPLOADS",
        "gunicorn threads",
        "gunicorn bind",
    } <= defaults.keys()
    with_file = configuration(monkeypatch, tmp_path, given)
    assert {
        name: (defaults.get(name), value)
        for name, value in with_file.items()
        if defaults.get(name) != value
    } == {}
