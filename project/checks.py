"""
System checks for the values read from the environment.

``settings.py`` never raises on a bad variable (see ``project.env``); it
records the problem in ``ENV_PROBLEMS`` and this check reports it, so that
``manage.py check``, ``migrate`` and ``runserver`` stop with the name of the
variable to fix. The variables ``gunicorn.conf.py`` reads are checked here
too: compose's ``migrate`` step then names them before gunicorn starts.
"""

import runpy

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from rest_framework.throttling import SimpleRateThrottle

from uploads.conf import upload_settings


class RateThrottle(SimpleRateThrottle):
    """A throttle given its rate, parsed by DRF as at the first request."""

    def __init__(self, rate):
        self.rate = rate
        super().__init__()


def rate_problems(rates):
    """Throttle rates DRF cannot parse; a rate of no request at all is
    refused too, as it would lock everyone out."""
    problems = []
    for name, rate in rates:
        try:
            requests = RateThrottle(rate).num_requests
        except (ValueError, KeyError, IndexError):
            requests = None
        if requests is None or requests < 1:
            problems.append(
                (
                    name,
                    "expected a rate such as 120/hour: a number of requests above 0, "
                    f"a slash, then s, min, hour or day, got {rate!r}.",
                )
            )
    return problems


def gunicorn_config():
    """The names ``gunicorn.conf.py`` defines, as gunicorn reads them."""
    config = settings.BASE_DIR / "gunicorn.conf.py"
    return runpy.run_path(str(config)) if config.exists() else {}


def gunicorn_problems(config):
    """What ``gunicorn.conf.py`` found wrong in the variables it reads."""
    env = config.get("env")
    return env.problems if env else []


def store_concurrency_warnings(config):
    """Threads that may wait on the store must leave some to the rest:
    with as many as gunicorn's, a stalled store holds every thread of a
    worker again (uploads.guard)."""
    threads = config.get("threads")
    concurrency = upload_settings.STORE_CONCURRENCY
    if not threads or concurrency < threads:
        return []
    return [
        Warning(
            f"UPLOADS_STORE_CONCURRENCY ({concurrency}) is not below GUNICORN_THREADS "
            f"({threads}): a stalled store can hold every thread of a worker, and every "
            "page waits behind it.",
            hint="Lower UPLOADS_STORE_CONCURRENCY or raise GUNICORN_THREADS (4 of 8 by default).",
            id="project.W001",
        )
    ]


@register(Tags.compatibility)
def check_environment(app_configs, **kwargs):
    config = gunicorn_config()
    problems = [
        *getattr(settings, "ENV_PROBLEMS", ()),
        *rate_problems(getattr(settings, "ENV_RATES", ())),
        *gunicorn_problems(config),
    ]
    errors = [
        Error(
            f"{name}: {message}",
            hint=f"Fix {name} in the environment or in .env (see .env.example).",
            id="project.E001",
        )
        for name, message in problems
    ]
    return errors + store_concurrency_warnings(config)
