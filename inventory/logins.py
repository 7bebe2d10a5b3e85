"""
Password guessing: how a login is refused, on every login path.

django-axes counts failed logins per username in the database (settings:
``AXES_*``), whatever path they come through (``POST /api/auth/token/``,
``/accounts/login/``, ``/admin/login/``) and whatever address they come
from, so that every app instance sees the same counts and rotating
``X-Forwarded-For`` gains nothing. This module gives axes the client's
address (the one DRF's throttles use) and the answer a locked-out user
gets: when to retry, in their language, as a page or as the API's JSON error.
"""

import math

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import Max
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from rest_framework import exceptions, status
from rest_framework.throttling import BaseThrottle


def client_address(request):
    """The client's address as DRF's throttles see it: ``REMOTE_ADDR``, or
    with ``NUM_PROXIES`` (``DJANGO_NUM_PROXIES``) proxies in front, the
    address the outermost of them appended to ``X-Forwarded-For``. What a
    client writes into that header itself is never used."""
    return BaseThrottle().get_ident(request)


def retry_after(request, credentials=None):
    """Seconds until ``request``'s username may log in again: its lockout
    ends a cool-off after its latest counted failure, when axes forgets the
    failures."""
    cool_off = get_cool_off(request)
    username = get_client_username(request, credentials)
    latest = AccessAttempt.objects.filter(username=username).aggregate(latest=Max("attempt_time"))[
        "latest"
    ]
    if latest is None:
        return math.ceil(cool_off.total_seconds())
    return max(1, math.ceil((latest + cool_off - timezone.now()).total_seconds()))


def lockout_message(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed logins for this account. Try again in %(minutes)d minute.",
        "Too many failed logins for this account. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class LoginLocked(exceptions.APIException):
    """The API's answer to a locked-out username (``login_locked``, 429,
    ``Retry-After``)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "login_locked"

    def __init__(self, wait):
        self.wait = wait  # DRF's exception handler sends it as Retry-After
        super().__init__(lockout_message(wait))


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: the page a locked-out user gets from the
    login page or the admin's, saying when to retry."""
    seconds = retry_after(request, credentials)
    context = {"message": lockout_message(seconds), "title": gettext("Login locked")}
    template = "registration/login_locked.html"
    if request.path.startswith(reverse("admin:index")):
        context = {**admin.site.each_context(request), **context}
        template = "admin/login_locked.html"
    response = render(request, template, context, status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(seconds)
    return response
