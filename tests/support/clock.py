"""A clock the tests set back, so that a ticket's policy has expired when
the store first sees it. The stores check a policy's expiration against
their own real clock (SeaweedFS's cannot be moved), so a test signs one
that is already out of date rather than waiting for it to lapse."""

from contextlib import contextmanager
from datetime import UTC, timedelta
from unittest import mock

import botocore.auth
import botocore.signers
from django.utils import timezone


@contextmanager
def shifted(seconds, since=None):
    """Within the block, the clocks read ``seconds`` later (earlier, when
    negative): Django's ``timezone.now`` (tickets, URL windows, backoffs,
    the emulator's policy) and botocore's (the expiration of a presigned
    POST, the date of a signature). Every thread sees it, a live server's
    too; the store keeps its own. With ``since`` (an aware datetime), they
    read ``seconds`` after it and stand still."""
    shift = timedelta(seconds=seconds)
    if since is None:
        django_now = timezone.now
        botocore_now = botocore.signers.get_current_datetime
    else:
        django_now = lambda: since  # noqa: E731
        botocore_now = lambda: since.astimezone(UTC).replace(tzinfo=None)  # noqa: E731
    with (
        mock.patch.object(timezone, "now", lambda: django_now() + shift),
        mock.patch.object(botocore.signers, "get_current_datetime", lambda: botocore_now() + shift),
        mock.patch.object(botocore.auth, "get_current_datetime", lambda: botocore_now() + shift),
    ):
        yield


def set_back(seconds):
    """The clocks a ticket is dated and signed with, ``seconds`` ago: its
    policy has expired when the store first sees it."""
    return shifted(-seconds)


def frozen_clock():
    """``at(seconds)``: a block within which the clocks of ``shifted``
    read ``seconds`` after the moment ``frozen_clock`` was called, and stand
    still, however long the block takes."""
    start = timezone.now()

    def at(seconds):
        return shifted(seconds, since=start)

    return at
