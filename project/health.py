"""
``/healthz`` for load balancers and container healthchecks: 200 when the
database and the media store answer, 503 naming the one that does not. It
waits on the store for seconds at most (``STORAGE_TIMEOUT``).

A middleware, first in the list, so that it answers before host validation
and the redirect to https://: healthchecks call the container by its own
address, over plain HTTP.
"""

import logging

from django.db import connection
from django.http import JsonResponse

from uploads.backends import get_backend

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Seconds the storage check waits to connect, and as many for the answer,
# in one try: /healthz answers within about twice that whatever the store
# does. While the store's circuit is open (uploads.guard) it answers at once.
STORAGE_TIMEOUT = 1


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_storage():
    get_backend(timeout=STORAGE_TIMEOUT).probe()


CHECKS = {"database": check_database, "storage": check_storage}


def health():
    """Each check's state; details go to the log, not to the caller."""
    states = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            # A store's failure comes wrapped in StorageUnavailable: log its cause.
            logger.error("Health check %s failed: %s", name, exc.__cause__ or exc)
            states[name] = "unavailable"
        else:
            states[name] = "ok"
    return states


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != HEALTH_PATH:
            return self.get_response(request)
        states = health()
        healthy = all(state == "ok" for state in states.values())
        return JsonResponse(
            {"status": "ok" if healthy else "unavailable", "checks": states},
            status=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )
