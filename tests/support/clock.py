"""A clock the tests set back, so that a ticket's policy has expired when
the store first sees it. The stores check a policy's expiration against
their own real clock (SeaweedFS's cannot be moved), so a test signs one
that is already out of date rather than waiting for it to lapse."""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import botocore.signers
from django.utils import timezone


@contextmanager
def set_back(seconds):
    """Within the block, the clocks a ticket is dated and signed with read
    ``seconds`` ago: Django's ``timezone.now`` (the ticket, the emulator's
    policy) and botocore's (the expiration of a presigned POST). Every
    thread sees it, a live server's too."""
    shift = timedelta(seconds=seconds)
    django_now = timezone.now
    botocore_now = botocore.signers.get_current_datetime
    with (
        mock.patch.object(timezone, "now", lambda: django_now() - shift),
        mock.patch.object(botocore.signers, "get_current_datetime", lambda: botocore_now() - shift),
    ):
        yield


@contextmanager
def moved_on(seconds):
    """Within the block, Django's ``timezone.now`` reads ``seconds`` later:
    what waits for a backoff (a recorded delete, a deferred task) is due
    without the test sleeping through it. The store's clock and botocore's
    signatures keep the real time."""
    shift = timedelta(seconds=seconds)
    django_now = timezone.now
    with mock.patch.object(timezone, "now", lambda: django_now() + shift):
        yield
