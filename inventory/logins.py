"""
Password guessing: how a login is refused, on every login path.

django-axes counts failed logins per username in the database (settings:
``AXES_*``), whatever path they come through (``POST /api/auth/token/``,
``/accounts/login/``, ``/admin/login/``) and whatever address they come
from, so that every app instance sees the same counts and rotating
``X-Forwarded-For`` gains nothing. This module gives axes the client's
address (the one DRF's throttles use) and the answer a locked-out user
gets: when to retry, in their language, as a page or as the API's JSON error.

axes checks the lockout before it checks the password, and records a
failure after (its issue #592): guesses sent at once would all be checked.
So every path authenticates through :func:`authenticate`, one login per
username at a time: the token endpoint's serializer, the login page's form
and the admin's (:class:`TokenLoginSerializer`, :class:`LoginForm`,
:class:`AdminLoginForm`).
"""

import math
import threading
import time

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.contrib import auth
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.throttling import BaseThrottle

from inventory.refusals import refusal_page


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
    return refusal_page(
        request,
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        retry_after=seconds,
        title=gettext("Login locked"),
        message=lockout_message(seconds),
        back=reverse("login"),
        back_label=gettext("Back to the login page"),
        admin_template="admin/login_locked.html",
    )


class LoginInProgress(exceptions.APIException):
    """Another login for the username was still being checked after
    ``LOGIN_LOCK_WAIT`` seconds (:func:`authenticate`). The API answers it
    as it is (``login_in_progress``, 429, ``Retry-After``);
    the login forms show its message as their error."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "login_in_progress"
    default_detail = gettext_lazy(
        "Another login to this account is in progress. Try again in a moment."
    )
    wait = 1  # seconds; DRF's exception handler sends it as Retry-After


#: Seconds a login waits for another login to the same username to end (a
#: double tap on a slow phone, a login sent again after a timeout: the
#: other's password check takes a fraction of a second) before it is
#: refused with :class:`LoginInProgress`.
LOGIN_LOCK_WAIT = 1

#: Logins one process lets wait at once, whatever their usernames; one more
#: is refused at once. A burst at one username holds no more of the
#: process's threads (and their database connections) than these.
WAITING_LOGINS = threading.BoundedSemaphore(2)


@sensitive_variables("credentials")
def authenticate(request, **credentials):
    """``django.contrib.auth.authenticate()``, one login per username at a
    time: it waits up to ``LOGIN_LOCK_WAIT`` seconds for another at work
    (if the process has a ``WAITING_LOGINS`` place free), then raises
    :class:`LoginInProgress`.

    axes checks the username's lockout, the backends check the password,
    and axes records a failure (``user_login_failed``): all of it in one
    transaction that holds the username's lock until that record is
    committed. The next login for the username then sees it, so however
    many are sent at once, no more than ``AXES_FAILURE_LIMIT`` passwords
    are checked per cool-off. A login that finds the lock taken waits a
    bounded time, not as long as it takes, and only a few at once per
    process: a burst at one username cannot hold every thread. The
    transaction holds this call alone: a caller's refusal of a wrong password, raised after
    it, must not roll axes's record back (hence the forms' and the
    serializer's own ``clean``/``validate`` below, rather than a wrapper
    around Django's and DRF's).

    On PostgreSQL the lock is a transaction-level advisory lock on the
    username axes counts by, in lower case, which every app instance sees.
    SQLite (development's default) has none: nothing is refused there, but
    the transaction begins ``IMMEDIATE`` (settings), taking the database's
    write lock, so logins wait for one another there, whatever their
    username, up to the 20 s the database waits for its lock."""
    username = get_client_username(request, credentials) or ""
    if longer_than_any_username(username):
        return None
    using = router.db_for_write(AccessAttempt)
    with transaction.atomic(using=using):
        if not take_login_lock(connections[using], username):
            raise LoginInProgress()
        return auth.authenticate(request, **credentials)


def longer_than_any_username(username):
    """Whether ``username`` is longer than the user model's field lets any
    account's be: no account has it, so there is no password to check nor
    lockout to count. axes would record its failure in a column of 255
    characters, which PostgreSQL refuses to overflow: on every login path,
    a 500 for anyone who sent a long enough name."""
    model = get_user_model()
    max_length = model._meta.get_field(model.USERNAME_FIELD).max_length
    return max_length is not None and len(username) > max_length


def take_login_lock(connection, username):
    """Whether this transaction now holds ``username``'s login lock, which
    it keeps until it ends, having waited ``LOGIN_LOCK_WAIT`` seconds at
    most; always true but on PostgreSQL.

    The lock is tried, then tried again after pauses that double: no
    pause for a login that meets no other, one round trip, and no
    ``lock_timeout`` to set and reset, nor an aborted transaction to
    recover from, for one that waits."""
    if connection.vendor != "postgresql":
        return True
    key = f"login:{username.lower()}"
    if try_login_lock(connection, key):
        return True
    if not WAITING_LOGINS.acquire(blocking=False):
        return False
    try:
        deadline = time.monotonic() + LOGIN_LOCK_WAIT
        pause = 0.02
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(pause, left))
            pause = min(2 * pause, 0.2)
            if try_login_lock(connection, key):
                return True
        return False
    finally:
        WAITING_LOGINS.release()


def try_login_lock(connection, key):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [key])
        return cursor.fetchone()[0]


class LoginForm(AuthenticationForm):
    """The login page's form: Django's, authenticating through
    :func:`authenticate`, and saying so when another login for the username
    is at work."""

    @sensitive_variables()
    def clean(self):
        # AuthenticationForm.clean(), its authenticate() replaced.
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = authenticate(self.request, username=username, password=password)
            except LoginInProgress:
                raise ValidationError(
                    LoginInProgress.default_detail, code=LoginInProgress.default_code
                ) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's login form (``project.admin``): Django's, for staff only,
    authenticating as :class:`LoginForm` does."""


class TokenLoginSerializer(AuthTokenSerializer):
    """The token endpoint's (``inventory.api``): DRF's, authenticating
    through :func:`authenticate`."""

    def validate(self, attrs):
        # AuthTokenSerializer.validate(), its authenticate() replaced; both
        # fields are required, so both are here.
        user = authenticate(
            self.context["request"], username=attrs["username"], password=attrs["password"]
        )
        if user is None:
            # DRF's message (a wrong password, or an inactive user).
            raise serializers.ValidationError(
                gettext_lazy("Unable to log in with provided credentials."), code="authorization"
            )
        return {**attrs, "user": user}
