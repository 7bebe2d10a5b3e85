"""What the checks of both storage modes share: their results, and the
form a ticket gets, made as the app makes it."""

import abc
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from uploads.backends import get_backend
from uploads.keys import media_key, site_folder
from uploads.policy import UploadPolicy

PASSED, FAILED, SKIPPED = "ok", "FAIL", "skip"


@dataclass
class Result:
    name: str
    status: str
    message: str
    fix: str = ""
    # How to check by hand what cannot be checked from here.
    check: str = ""

    @property
    def failed(self):
        return self.status == FAILED


class Diagnosis(abc.ABC):
    """The checks of one store, for one site folder and the origins whose
    pages upload."""

    def __init__(self, site=None, origins=()):
        self.folder = site_folder(site, "check")
        self.origins = list(origins)

    @abc.abstractmethod
    def mode(self):
        """The storage mode and where the store is, in a line."""

    @abc.abstractmethod
    def settings_in_use(self):
        """``(name, value)`` of the settings the store is reached with,
        secrets masked."""

    @abc.abstractmethod
    def run(self):
        """The ``Result`` of each check, in order."""

    def key(self, suffix):
        """A fresh key in the checks' folder."""
        return media_key(f"{self.folder}/{uuid.uuid4().hex}{suffix}")

    def ticket_form(self, body):
        """A ticket's form for a fresh key, made as the app makes them
        (signed for the clients' address)."""
        policy = UploadPolicy(
            key=self.key(".txt"),
            content_type="text/plain",
            size=len(body),
            expires_at=timezone.now() + timedelta(minutes=5),
        )
        return get_backend().presign_post(policy)
