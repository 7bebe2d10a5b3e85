"""
Typed reads of environment variables for ``settings.py``.

A malformed value must not crash the settings import with a traceback: the
operator would see a stack trace instead of the name of the variable to fix.
``Env`` therefore records each problem, falls back to the default, and
``project.checks`` reports the problems through ``manage.py check`` (which
``runserver`` and ``migrate`` run too), naming the variable.

Where a library parses the value later (redis-py a cache URL, Django a host
name, DRF a throttle rate), the value is checked with that library's own
parser, so that what passes ``check`` is exactly what works at the first
request.
"""

import os
import re
from urllib.parse import urlsplit

import dj_database_url
from django.http.request import split_domain_port

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ
        self.problems = []
        # (name, value) of the throttle rates read, for project.checks.
        self.rates = []

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

    def int(self, name, default, minimum=None, maximum=None):
        """A whole number, within ``minimum`` and ``maximum`` when given: a
        negative lifetime would hand out links that are already expired."""
        raw = self.environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if (
            value is None
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            expected = "a whole number"
            if minimum is not None and maximum is not None:
                expected += f" from {minimum} to {maximum}"
            elif minimum is not None:
                expected += f" of at least {minimum}"
            elif maximum is not None:
                expected += f" of at most {maximum}"
            self.problem(name, f"expected {expected}, got {raw!r}.")
            return default
        return value

    def seconds(self, name, default, maximum=None, zero=False):
        """A duration above 0 in seconds, fractions allowed (``0.5``); 0 too
        with ``zero``, where it means none (no wait)."""
        raw = self.environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = float(raw)
        except ValueError:
            value = None
        lowest_ok = value is not None and (value >= 0 if zero else value > 0)
        if not lowest_ok or value == float("inf") or (maximum and value > maximum):
            expected = f"a number of seconds {'from 0' if zero else 'above 0'}, such as 2 or 0.5"
            if maximum:
                expected += f", at most {maximum}"
            self.problem(name, f"expected {expected}, got {raw!r}.")
            return default
        return value

    def list(self, name, default=()):
        """A comma-separated list; blanks are dropped."""
        raw = self.environ.get(name)
        if raw is None:
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def parsed(self, name, default, parse, expected):
        """The value, if ``parse`` (a library's own parser, which raises on
        what it cannot use) accepts it; ``expected`` says what is."""
        value = self.str(name)
        if not value:
            return default
        try:
            parse(value)
        except (ValueError, TypeError, RuntimeError):
            self.problem(name, f"expected {expected}, got {value!r}.")
            return default
        return value

    def hosts(self, name, default=()):
        """Host names for ``ALLOWED_HOSTS``: ``shop.example.com``,
        ``.example.com`` (and its subdomains), an IP address or ``*``.
        An entry with a scheme, port or path matches no request, so every
        request would answer 400."""
        hosts = self.list(name, default)
        for host in hosts:
            domain, port = split_domain_port(host)
            if host != "*" and (not domain or port):
                self.problem(
                    name,
                    "expected host names such as shop.example.com or .example.com "
                    f"(no scheme, port or path), got {host!r}.",
                )
                return list(default)
        return hosts

    def redis_url(self, name):
        """A Redis URL (redis://, rediss:// or unix://), or several separated
        by commas or semicolons as Django's RedisCache takes them (the first
        is written to, the others read)."""
        from redis.connection import parse_url  # only when Redis is used

        return self.parsed(
            name,
            "",
            lambda value: [parse_url(server) for server in re.split("[;,]", value)],
            "a redis://, rediss:// or unix:// URL such as redis://127.0.0.1:6379/0",
        )

    def rate(self, name, default):
        """A throttle rate in DRF's ``<requests>/<period>`` form: 120/hour,
        10/min. DRF's parser cannot run while the settings load (its throttle
        classes read the settings on import), so ``project.checks`` parses the
        rates kept in ``rates`` with it."""
        value = self.str(name) or default
        self.rates.append((name, value))
        return value

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
