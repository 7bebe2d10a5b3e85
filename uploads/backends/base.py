"""
What an upload backend must do, whichever store it runs on.

The services (``uploads.services``, ``uploads.deletions``) and the health
check only talk to this interface, through ``uploads.backends.get_backend``;
``S3UploadBackend`` and ``LocalUploadBackend`` fill it in. Keys are the
bucket's (``media/sites/3/...``) in both modes.

The guarantees below are what confirm's safety rests on: confirm inspects an
upload, then copies it, and a client may replace the upload in between. An
ETag taken by ``head`` pins the object: ``read`` and ``copy`` act on that
object or raise ``ObjectChanged``, never on a newer one.
"""

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str


class ObjectMissing(Exception):
    """No object at the key."""


class ObjectChanged(Exception):
    """The object no longer has the ETag it was inspected with."""


class UploadBackend(abc.ABC):
    """The object operations of the upload flow.

    Failures of the store itself (not answering, refusing the credentials, a
    5xx) raise ``uploads.errors.StorageUnavailable``, or its subclass
    ``StorageAccessDenied`` when the store answers 403 to an operation: the
    ticket stays usable and the client is told to retry. The filesystem
    backend, for development only, lets ``OSError`` through.

    ``timeout``, when given, bounds each call to one try of at most that many
    seconds to connect and as many to read (the health check's); otherwise
    the settings' bounds apply (``uploads.s3.store_bounds``).
    """

    def __init__(self, timeout=None):
        self.timeout = timeout

    @abc.abstractmethod
    def presign_post(self, policy):
        """The ``{"url": ..., "fields": {...}}`` of a form that lets a
        client POST one file under ``policy`` (an ``UploadPolicy``), and
        nothing else. The store must refuse any other key, type, size or
        checksum, and the form once ``policy.expires_at`` has passed.

        Must not reach the store: it is called for every ticket, and
        signing is local."""

    @abc.abstractmethod
    def head(self, key):
        """The ``ObjectInfo`` of the object at ``key``, or ``ObjectMissing``.

        The ETag changes whenever the object's bytes may have: it is what
        ``read`` and ``copy`` check."""

    @abc.abstractmethod
    def read(self, key, etag, length=None, start=0):
        """At most ``length`` bytes of the object at ``key`` from offset
        ``start`` (fewer at its end); the whole object when ``length`` is
        ``None``, which callers only ask for an object whose size they have
        checked. Only the bytes asked for are fetched.

        ``ObjectChanged`` if the object no longer has ``etag``,
        ``ObjectMissing`` if there is none."""

    def read_first(self, key, length):
        """The ``ObjectInfo`` of the object at ``key`` and at most its first
        ``length`` bytes, the ETag being that of the bytes returned:
        confirm's first look at an upload. ``ObjectMissing`` if there is
        none.

        A store whose ranged GET answers the total size and the ETag does it
        in one request (see the S3 backend); this default asks twice."""
        info = self.head(key)
        return info, self.read(key, info.etag, length) if info.size else b""

    @abc.abstractmethod
    def copy(self, source, destination, etag, content_type):
        """Copy the object at ``source`` to ``destination`` if it still has
        ``etag``: exactly the bytes inspected, or ``ObjectChanged`` and
        nothing is written (``ObjectMissing`` if there is no object).
        ``destination`` is a fresh, unguessable key; the filesystem backend
        refuses to overwrite a file.

        In a bucket, the copy gets the headers this app chooses for every
        stored object (``content_type``, ``UPLOADS["CACHE_CONTROL"]``,
        ``UPLOADS["CONTENT_DISPOSITION"]``), whatever the upload carried;
        files on disk have no headers. Returns the copy's ETag where the
        store answers one (``None`` on disk)."""

    @abc.abstractmethod
    def delete(self, key):
        """Delete the object at ``key``; deleting a missing key is not an
        error, so that a retried deletion succeeds."""

    @abc.abstractmethod
    def exists(self, key):
        """Whether an object is at ``key``.

        ``StorageAccessDenied`` when the store will not say: AWS answers
        403, not 404, for a missing key when the credentials lack
        ``s3:ListBucket``."""

    def purge_temporaries(self, now, dry_run=False):
        """Delete the files a process stopped while writing left behind, and
        return their names (only name them with ``dry_run``). None here: a
        bucket takes each object in one request, whole or not at all (a
        multipart upload left unfinished is the bucket's lifecycle rule's,
        ``project.buckets``). The filesystem's write a file, then rename it
        into place (``LocalMediaStorage.overwrite``, the emulator)."""
        return []

    @abc.abstractmethod
    def probe(self):
        """Return if the store answers, else raise ``StorageUnavailable``
        (and log why): the health check's one request, a read of a key that
        holds nothing, which needs no permission beyond the media prefix."""
