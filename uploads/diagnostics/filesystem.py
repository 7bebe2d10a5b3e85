"""The checks of filesystem mode: the emulator enforces its policies, and
files can be written, read and deleted under ``MEDIA_ROOT``."""

import os
import secrets
import uuid

from django.conf import settings

from uploads.diagnostics.base import FAILED, PASSED, Diagnosis, Result
from uploads.emulator.policy import PolicyViolation, verify_form
from uploads.media import LocalMediaStorage


class FilesystemDiagnosis(Diagnosis):
    def mode(self):
        return f"filesystem: {LocalMediaStorage().location}"

    def settings_in_use(self):
        return [("MEDIA_ROOT", str(settings.MEDIA_ROOT))]

    def run(self):
        yield self.check_policy_enforced()
        yield self.check_round_trip()

    def check_policy_enforced(self):
        """A ticket's form for one key, posted with another key, must be
        refused."""
        name = "Policy enforced"
        body = b"check_storage\n"
        form = self.ticket_form(body)
        wrong = {**form["fields"], "key": self.key(".txt")}
        try:
            verify_form({k: [v] for k, v in wrong.items()}, len(body), "")
        except PolicyViolation:
            return Result(name, PASSED, "the emulator refuses a form for another key")
        return Result(name, FAILED, "the emulator accepted a form for another key")

    def check_round_trip(self):
        name = "Round trip"
        storage = LocalMediaStorage()
        relative = f"{self.folder}/{uuid.uuid4().hex}.txt"
        body = secrets.token_bytes(64)
        try:
            path = storage.path(relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(body)
            with open(path, "rb") as handle:
                read = handle.read()
            os.remove(path)
        except OSError as exc:
            return Result(
                name, FAILED, str(exc), "Make MEDIA_ROOT writable by the user running the app."
            )
        if read != body:
            return Result(name, FAILED, f"{relative} read back different bytes")
        return Result(name, PASSED, f"wrote, read and deleted {relative} under MEDIA_ROOT")
