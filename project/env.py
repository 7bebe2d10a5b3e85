"""
Typed reads of environment variables for ``settings.py``.

A malformed value must not crash the settings import with a traceback: the
operator would see a stack trace instead of the name of the variable to fix.
``Env`` therefore records each problem, falls back to the default, and
``project.checks`` reports the problems through ``manage.py check`` (which
``runserver`` and ``migrate`` run too), naming the variable.
"""

import os
from urllib.parse import urlsplit

import dj_database_url

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ
        self.problems = []

    def problem(self, name, message):
        self.problems.append((name, message))

    def str(self, name, default=""):
        return self.environ.get(name, default).strip()

    def bool(self, name, default=False):
        raw = self.environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
        self.problem(name, f"expected true or false, got {raw!r}.")
        return default

    def int(self, name, default):
        raw = self.environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return int(raw)
        except ValueError:
            self.problem(name, f"expected a whole number, got {raw!r}.")
            return default

    def list(self, name, default=()):
        """A comma-separated list; blanks are dropped."""
        raw = self.environ.get(name)
        if raw is None:
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def choice(self, name, choices, default):
        """One of ``choices``, compared without case."""
        value = self.str(name)
        if not value:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        self.problem(name, f"expected one of {', '.join(choices)}, got {value!r}.")
        return default

    def is_origin(self, name, value):
        """Whether ``value`` is an origin (scheme and host, no path);
        records a problem otherwise."""
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname and parts.path in ("", "/"):
            return True
        self.problem(name, f"expected origins such as https://shop.example.com, got {value!r}.")
        return False

    def url(self, name, default=""):
        """An absolute http(s) URL, such as an S3-compatible endpoint."""
        value = self.str(name, default)
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem(name, f"expected an http:// or https:// URL, got {value!r}.")
            return default
        return value.rstrip("/")

    def hostname(self, name, default=""):
        """A bare host (optionally with a path), such as a CDN domain."""
        value = self.str(name, default)
        if "://" in value or value.startswith("/") or " " in value:
            self.problem(
                name,
                f"expected a bare domain such as cdn.example.com, got {value!r}.",
            )
            return default
        return value.rstrip("/")

    def database(self, name, default):
        value = self.str(name) or default
        try:
            config = dj_database_url.parse(value, conn_max_age=60)
        except ValueError as exc:  # UnknownSchemeError and ParseError
            reason = str(exc).split(". ")[0]
            self.problem(name, f"not a usable database URL: {reason}.")
            return dj_database_url.parse(default)
        if not config.get("NAME"):
            self.problem(name, f"no database name in {value!r}.")
            return dj_database_url.parse(default)
        return config
