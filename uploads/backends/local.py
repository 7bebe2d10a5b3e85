"""
The upload flow over ``MEDIA_ROOT``, for development without a bucket.

Tickets point at the emulator (``uploads.emulator``), which enforces the
policy of the form it signed as a bucket does, and stores the file with
``store``.
"""

import logging
import os
import shutil

from django.core.exceptions import SuspiciousFileOperation
from django.urls import reverse

from uploads.backends.base import ObjectChanged, ObjectInfo, ObjectMissing, UploadBackend
from uploads.emulator.policy import signed_fields
from uploads.errors import StorageUnavailable
from uploads.keys import media_name_of
from uploads.media import TEMPORARY_MAX_AGE, LocalMediaStorage

logger = logging.getLogger(__name__)


def file_etag(stat):
    """Changes whenever the file is replaced (uploads land by rename)."""
    return f'"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"'


class LocalUploadBackend(UploadBackend):
    """Keys map to paths below ``MEDIA_ROOT``: one outside ``media/`` raises
    ``SuspiciousFileOperation``. ``timeout`` does not apply."""

    def __init__(self, timeout=None):
        super().__init__(timeout)
        self.storage = LocalMediaStorage()

    def path(self, key):
        try:
            name = media_name_of(key)
        except ValueError as error:
            raise SuspiciousFileOperation(str(error)) from None
        return self.storage.path(name)

    def presign_post(self, policy):
        return {"url": reverse("uploads:emulator"), "fields": signed_fields(policy)}

    # --- The emulator's side -----------------------------------------------

    def store(self, key, temporary_path):
        """Move a received file into place, replacing any earlier upload."""
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.replace(temporary_path, path)

    # --- The confirm side --------------------------------------------------

    def head(self, key):
        try:
            stat = os.stat(self.path(key))
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        return ObjectInfo(size=stat.st_size, etag=file_etag(stat))

    def open_unchanged(self, key, etag):
        try:
            handle = open(self.path(key), "rb")
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        if file_etag(os.fstat(handle.fileno())) != etag:
            handle.close()
            raise ObjectChanged(key)
        return handle

    def read(self, key, etag, length=None, start=0):
        with self.open_unchanged(key, etag) as handle:
            handle.seek(start)
            return handle.read() if length is None else handle.read(length)

    def copy(self, source, destination, etag, content_type):
        """Copy exactly the inspected file: the handle opened after the ETag
        check keeps reading that file even if an upload replaces it."""
        target = self.path(destination)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with self.open_unchanged(source, etag) as handle, open(target, "xb") as out:
            shutil.copyfileobj(handle, out)

    def delete(self, key):
        try:
            os.remove(self.path(key))
        except FileNotFoundError:
            pass

    def exists(self, key):
        return os.path.exists(self.path(key))

    def purge_temporaries(self, now, dry_run=False):
        """Delete the files of the storage's ``temporary_folder`` untouched
        for ``TEMPORARY_MAX_AGE`` at ``now``: left by a process killed
        before it renamed them into place. One folder is listed, whatever
        the size of the media tree: the hourly ``purge_uploads`` costs a
        ``stat`` per file there, and there are few.

        A folder this process may not list (another user's, or a file in
        its place) is left as an undeletable file is, in the log: the rest
        of the purge, done before, is reported and succeeds."""
        cutoff = now.timestamp() - TEMPORARY_MAX_AGE
        folder = self.storage.temporary_path()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return []
        except OSError:
            logger.warning("Could not list the temporary files in %s", folder, exc_info=True)
            return []
        stale = []
        for entry in sorted(entries, key=lambda entry: entry.name):
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                    continue
                if not dry_run:
                    os.remove(entry.path)
            except FileNotFoundError:
                continue  # renamed into place meanwhile, or another run's
            except OSError:
                # Another user's file, say: the rest of the purge goes on.
                logger.warning("Could not delete the temporary file %s", entry.path, exc_info=True)
                continue
            stale.append(entry.name)
        return stale

    def probe(self):
        """``MEDIA_ROOT`` is a folder this process may write in."""
        root = str(self.storage.location)
        try:
            os.makedirs(root, exist_ok=True)
        except OSError:
            pass
        if not (os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK)):
            logger.error("MEDIA_ROOT %s is missing or not writable", root)
            raise StorageUnavailable()
