"""Configuration from the environment: a bad or half-set variable stops
``manage.py check`` with the name of the variable, never a traceback."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from project.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
CLEAN = {
    key: value
    for key, value in os.environ.items()
    if not key.startswith(("AWS_", "DJANGO_", "DATABASE_URL"))
}


def manage(tmp_path, *command, **variables):
    """``manage.py command`` in a clean environment; a variable set to
    ``None`` is left out."""
    env = {
        **CLEAN,
        # Away from the developer's .env and database.
        "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "DJANGO_SECRET_KEY": "a-long-random-secret-for-the-checks-only-0123456789",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=BASE_DIR,
        env={key: value for key, value in env.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage_check(tmp_path, **variables):
    return manage(tmp_path, "check", **variables)


@pytest.mark.slow
def test_check_passes_in_filesystem_mode(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_check_passes_with_a_complete_bucket_configuration(tmp_path):
    result = manage_check(
        tmp_path,
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG: expected true or false, got 'maybe'"),
        ("DATABASE_URL", "mysqll://db/x", "DATABASE_URL: not a usable database URL"),
        ("DATABASE_URL", "postgres://", "DATABASE_URL: no database name"),
        ("AWS_S3_ENDPOINT_URL", "localhost:8333", "AWS_S3_ENDPOINT_URL: expected an http"),
        (
            "AWS_S3_CUSTOM_DOMAIN",
            "https://cdn.example.com",
            "AWS_S3_CUSTOM_DOMAIN: expected a bare domain",
        ),
        ("AWS_QUERYSTRING_EXPIRE", "1h", "AWS_QUERYSTRING_EXPIRE: expected a whole number"),
        ("DJANGO_SECRET_KEY", None, "DJANGO_SECRET_KEY: required when DJANGO_DEBUG is off"),
        (
            "DJANGO_CSRF_TRUSTED_ORIGINS",
            "shop.example.com",
            "DJANGO_CSRF_TRUSTED_ORIGINS: expected origins such as https://",
        ),
        ("DJANGO_LOG_FORMAT", "xml", "DJANGO_LOG_FORMAT: expected one of json, text"),
    ],
)
def test_check_names_a_malformed_variable(tmp_path, variable, value, message):
    result = manage_check(tmp_path, **{variable: value})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert f"Fix {variable}" in result.stderr


@pytest.mark.slow
def test_check_refuses_an_invalid_bucket_name(tmp_path):
    result = manage_check(
        tmp_path,
        AWS_STORAGE_BUCKET_NAME="Shop_Media",
        AWS_ACCESS_KEY_ID="a",
        AWS_SECRET_ACCESS_KEY="b",
    )
    assert result.returncode == 1
    assert "uploads.E002" in result.stderr


@pytest.mark.slow
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
    assert settings.STORAGES["default"]["BACKEND"] == "uploads.storage.MediaStorage"
    assert settings.STORAGES["staticfiles"]["BACKEND"] == "uploads.storage.StaticStorage"


def test_every_variable_is_documented_in_env_example():
    read = set(
        re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', (BASE_DIR / "project/settings.py").read_text())
    )
    example = (BASE_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.M))

    assert len(read) > 20
    assert read - documented == set()
