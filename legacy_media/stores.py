"""
Where the old files are read from and the copies written to.

A store is the media bucket (``Bucket``) or a folder on this machine
(``Folder``). Either plays either role: the bucket is the source and the
destination in S3 mode, a folder of old files may feed the bucket
(``--source-dir``), and ``MEDIA_ROOT`` is both in filesystem mode. The plan
(``legacy_media.plan``) only talks to the ``Store`` interface below.

The bucket goes through ``uploads``' public pieces only: the upload
backend's operations (``head``, ``copy``, ``delete``, ``object_headers``),
so that a copy is made, and fails, exactly as confirm's is, and for the one
operation the upload flow never makes, the PUT of a local file, the media
storage's public ``client``.
"""

import hashlib
import mimetypes
import os
import posixpath
import shutil
from contextlib import contextmanager
from dataclasses import dataclass

from legacy_media.names import legacy_candidates
from uploads.backends.base import ObjectChanged, ObjectMissing
from uploads.backends.s3 import S3UploadBackend
from uploads.backends.s3_errors import STORE_ERRORS, Failure, classify
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.keys import media_key
from uploads.media import S3MediaStorage

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Found:
    """An object found in a store."""

    name: str  # its key in that store
    size: int
    etag: str  # S3 ETag without quotes; "" for a file


class StoreError(Exception):
    """A store failed in a way a rerun may fix (network, permissions)."""


class AccessDenied(StoreError):
    """The store answered 403: a permission is missing or, for a HEAD on
    AWS without ``s3:ListBucket``, the key may simply hold nothing."""


def content_type_of(name):
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def file_md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class Store:
    """What the plan needs of a source or a destination.

    Keys are the store's own: from the bucket's root, or relative to the
    folder. Failures a rerun may fix raise ``StoreError`` (``AccessDenied``
    for a 403); a missing object is ``None``, never an error.
    """

    def describe(self):
        """The store in a few words. It is recorded with every copy made
        from it (``MigratedSource.origin``), so it must stay the same from
        one run to the next."""
        raise NotImplementedError

    def key(self, name):
        """The key of ``name``, a name relative to the media root."""
        raise NotImplementedError

    def stat(self, key):
        """The object at ``key`` as a ``Found``, or ``None``."""
        raise NotImplementedError

    def checksum(self, found):
        """The MD5 of ``found``'s content, or its ETag if it has one (which
        is the MD5 of an object written in one PUT)."""
        raise NotImplementedError

    def delete(self, key):
        """Delete the object at ``key``; one already gone is no error."""
        raise NotImplementedError

    def copy(self, source, found, key):
        """Write ``found``, of the store ``source``, at ``key`` here. The
        copy as a ``Found`` when the store's answer proves what was written
        (so that no ``stat`` need check it), else ``None``."""
        raise NotImplementedError

    def listing(self, keys):
        """What ``stat`` would say of each of ``keys`` it can tell at less
        than a request per key, as a dict; the keys left out need a
        ``stat``. A snapshot: good for planning, never for checking a copy
        just made."""
        return {}

    def list_candidates(self, names):
        """A ``listing`` for ``find`` of each of ``names``, in rounds: the
        first candidate place of each name, then the next of those a round
        did not find, so that the folders of places never tried are not
        listed either."""
        listed = {}
        pending = set(names)
        while pending:
            wanted = set()
            for name in list(pending):
                for key in legacy_candidates(name):
                    if key not in listed:
                        wanted.add(key)
                        break
                    if listed[key] is not None:
                        pending.discard(name)  # found
                        break
                else:
                    pending.discard(name)  # missing
            told = self.listing(wanted)
            if not told:
                break
            listed.update(told)
        return listed

    def find(self, name, listed=None):
        """Where the old app's file of a row named ``name`` is: the first of
        its candidate places that holds an object. If none does but one
        refused to say, the file is reported as missing or not readable.
        ``listed`` is a ``listing`` of the candidates, if one was made."""
        listed = listed or {}
        refused = False
        for key in legacy_candidates(name):
            try:
                found = listed[key] if key in listed else self.stat(key)
            except AccessDenied:
                refused = True
                continue
            if found:
                return found
        if refused:
            raise AccessDenied(f"{name} is missing or not readable (403)")
        return None


class Bucket(Store):
    """The media bucket, keys from its root; names map to ``media/<name>``."""

    def __init__(self):
        self.storage = S3MediaStorage()
        self.backend = S3UploadBackend()

    @property
    def client(self):
        """The process's shared client of the store, bounded and guarded."""
        return self.storage.client

    def describe(self):
        return f"bucket {self.storage.bucket_name}"

    def key(self, name):
        return media_key(name)

    @contextmanager
    def failing_as_store_error(self, operation, key):
        try:
            yield
        except StorageAccessDenied as exc:
            raise AccessDenied(f"{operation} {key}: access denied (403)") from exc
        except (StorageUnavailable, ObjectChanged) as exc:
            raise StoreError(f"{operation} {key}: {exc.__cause__ or exc}") from exc
        except STORE_ERRORS as exc:  # the PUT, made with the client itself
            if classify(exc) is Failure.ACCESS_DENIED:
                raise AccessDenied(f"{operation} {key}: access denied (403)") from exc
            raise StoreError(f"{operation} {key}: {exc}") from exc

    def stat(self, key):
        with self.failing_as_store_error("head", key):
            try:
                info = self.backend.head(key)
            except ObjectMissing:
                return None
        return Found(key, info.size, info.etag.strip('"'))

    def checksum(self, found):
        return found.etag

    def delete(self, key):
        with self.failing_as_store_error("delete", key):
            self.backend.delete(key)

    def listing(self, keys, page_size=1000):
        """One listing per folder of ``keys`` (``ListObjectsV2``, 1,000 keys
        a page) instead of a HEAD per key. A folder with one key to tell, or
        whose listing is refused (no ``s3:ListBucket``), fails, or would
        take more pages than it has keys to tell, is left to ``stat``."""
        wanted = {}
        for key in keys:
            wanted.setdefault(posixpath.dirname(key), set()).add(key)
        listed = {}
        for folder, names in wanted.items():
            if len(names) < 2:
                continue
            found = self.list_folder(folder + "/" if folder else "", len(names), page_size)
            if found is not None:
                listed.update({key: found.get(key) for key in names})
        return listed

    def list_folder(self, prefix, max_pages, page_size):
        """The objects right under ``prefix`` by key, or ``None``."""
        found = {}
        params = {"Bucket": self.storage.bucket_name, "Prefix": prefix, "Delimiter": "/"}
        for _ in range(max(1, max_pages)):
            try:
                with self.failing_as_store_error("list", prefix):
                    page = self.client.list_objects_v2(MaxKeys=page_size, **params)
            except StoreError:
                return None
            for item in page.get("Contents", ()):
                found[item["Key"]] = Found(item["Key"], item["Size"], item["ETag"].strip('"'))
            if not page.get("IsTruncated"):
                return found
            params["ContinuationToken"] = page["NextContinuationToken"]
        return None

    def copy(self, source, found, key):
        """Within the bucket, a server-side copy of exactly ``found``: no
        bytes pass through here. From a folder, one PUT streamed from the
        file, so that the copy's ETag is the file's MD5.

        The store's answer carries the copy's ETag. A copy of exactly
        ``found`` (``CopySourceIfMatch``) whose ETag is ``found``'s MD5 has
        its bytes, hence its size; a PUT's ETag is the MD5 of the bytes
        received. The copy of an object uploaded in parts has an ETag of
        its own, so its size is looked up (``None``)."""
        content_type = content_type_of(key)
        if isinstance(source, Bucket):
            with self.failing_as_store_error("copy", key):
                etag = self.backend.copy(found.name, key, f'"{found.etag}"', content_type)
            if "-" in found.etag:
                return None
            return Found(key, found.size, etag.strip('"'))
        with self.failing_as_store_error("put", key), open(source.path(found.name), "rb") as body:
            response = self.client.put_object(
                Bucket=self.storage.bucket_name,
                Key=key,
                Body=body,
                **self.backend.object_headers(content_type),
            )
            size = os.fstat(body.fileno()).st_size
        return Found(key, size, response["ETag"].strip('"'))


class Folder(Store):
    """A folder on this machine (``MEDIA_ROOT``, or the old app's files):
    keys are paths relative to it, never outside it."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def describe(self):
        return f"folder {self.root}"

    def key(self, name):
        return name

    def path(self, key):
        """The file of ``key``; ``None`` for a key leading out of the
        folder (``../`` in an old name)."""
        path = os.path.abspath(os.path.join(self.root, key))
        if os.path.commonpath([self.root, path]) != self.root:
            return None
        return path

    def stat(self, key):
        path = self.path(key)
        if path and os.path.isfile(path):
            return Found(key, os.path.getsize(path), "")
        return None

    def checksum(self, found):
        return file_md5(self.path(found.name))

    def delete(self, key):
        try:
            os.remove(self.path(key))
        except FileNotFoundError:
            pass

    def copy(self, source, found, key):
        """Copy beside the target, then rename: a copy cut short never leaves
        a partial file under the final name, and the next run overwrites it."""
        target = self.path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        partial = target + ".partial"
        with open(source.path(found.name), "rb") as data, open(partial, "wb") as out:
            shutil.copyfileobj(data, out, CHUNK_SIZE)
        os.replace(partial, target)
