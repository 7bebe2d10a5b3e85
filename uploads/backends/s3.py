"""
The upload flow over the media bucket.

Forms are signed locally (``S3Connection.presigned_post``); confirm's reads,
copy and delete are ``S3Connection.store_call``, guarded and bounded as
every call to the store is. What a boto3 error means is decided once, in
``uploads.backends.s3_errors``, and raised as ``UploadBackend`` says.
"""

import logging
import uuid

from uploads.backends.base import ObjectChanged, ObjectInfo, ObjectMissing, UploadBackend
from uploads.backends.s3_errors import STORE_ERRORS, Failure, classify, status_code
from uploads.conf import upload_settings
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.guard import StoreBusy
from uploads.keys import media_key, site_folder
from uploads.media import S3MediaStorage
from uploads.s3 import store_bounds

logger = logging.getLogger(__name__)


def one_try_within(timeout):
    """The settings' bounds of store calls, cut to one try of at most
    ``timeout`` seconds to connect and as many to read."""
    bounds = store_bounds()
    return {
        **bounds,
        "connect_timeout": min(timeout, bounds["connect_timeout"]),
        "read_timeout": min(timeout, bounds["read_timeout"]),
        "max_attempts": 1,
    }


class S3UploadBackend(UploadBackend):
    """The upload flow over the media bucket, with the client and settings
    of ``S3MediaStorage`` (one boto3 client per process and bounds, shared)."""

    def __init__(self, timeout=None):
        super().__init__(timeout)
        self.storage = S3MediaStorage(**({} if timeout is None else one_try_within(timeout)))
        self.bucket = self.storage.bucket_name

    @property
    def client(self):
        return self.storage.client

    def presign_post(self, policy):
        """Sign ``policy``; no request reaches the bucket."""
        return self.storage.presigned_post(
            policy.key, policy.fields(), policy.conditions(), policy.expires_at
        )

    def probe(self):
        """A GET of a key that holds nothing: 404, or 403 from AWS when the
        credentials lack ``s3:ListBucket``, is a store that works. Any other
        answer tells credentials, bucket and region apart in the log."""
        key = media_key(f"{site_folder(None, 'check')}/{uuid.uuid4().hex}.missing")
        try:
            self.client.get_object(Bucket=self.bucket, Key=key)["Body"].close()
        except STORE_ERRORS as exc:
            if classify(exc) not in (Failure.MISSING, Failure.ACCESS_DENIED):
                raise self.unavailable(exc) from exc

    def head(self, key):
        response = self.call("head_object", key)
        return ObjectInfo(size=response["ContentLength"], etag=response["ETag"])

    def read(self, key, etag, length=None, start=0):
        """``length`` bytes (all when ``None``) of the object from ``start``,
        provided it still has ``etag``."""
        params = {"IfMatch": etag}
        if length is not None:
            params["Range"] = f"bytes={start}-{start + length - 1}"
        elif start:
            params["Range"] = f"bytes={start}-"
        return self.call("get_object", key, **params)["Body"]

    def read_first(self, key, length):
        """One ranged GET: its Content-Range holds the object's total size,
        and its ETag is that of the bytes it returns."""
        try:
            response = self.storage.store_call("get_object", key, Range=f"bytes=0-{length - 1}")
        except STORE_ERRORS as exc:
            if status_code(exc) == 416:
                # No byte 0: an empty object, which no range fits.
                return self.head(key), b""
            raise self.failure("get_object", key, exc) from exc
        data = response["Body"]
        content_range = response.get("ContentRange")  # "bytes 0-65535/1017729"
        size = int(content_range.rsplit("/", 1)[1]) if content_range else len(data)
        return ObjectInfo(size=size, etag=response["ETag"]), data

    def copy(self, source, destination, etag, content_type):
        """Server-side copy of exactly the inspected object, with headers
        chosen here: whatever the upload form carried is dropped. The
        copy's ETag, as the store answered."""
        response = self.call(
            "copy_object",
            destination,
            CopySource={"Bucket": self.bucket, "Key": source},
            CopySourceIfMatch=etag,
            MetadataDirective="REPLACE",
            TaggingDirective="REPLACE",
            **self.object_headers(content_type),
        )
        return response["CopyObjectResult"]["ETag"]

    def object_headers(self, content_type):
        """The headers of every object this app writes for good."""
        return {"ContentType": content_type, **self.storage.object_headers()}

    def delete(self, key):
        self.call("delete_object", key)

    def exists(self, key):
        try:
            self.head(key)
        except ObjectMissing:
            return False
        return True

    def call(self, operation, key, **params):
        """``operation`` (``"copy_object"``) on ``key``, made by the storage
        without botocore's per-call set-up (``S3Connection.store_call``),
        its errors raised as the interface says (``uploads.backends.base``).
        A ``Body`` comes read."""
        try:
            return self.storage.store_call(operation, key, **params)
        except STORE_ERRORS as exc:
            raise self.failure(operation, key, exc) from exc

    def failure(self, operation, key, exc):
        """The exception the interface says for ``exc``, raised by
        ``operation`` on ``key``."""
        failure = classify(exc)
        if failure is Failure.MISSING:
            return ObjectMissing(key)
        if failure is Failure.CHANGED:
            return ObjectChanged(key)
        if failure is Failure.ACCESS_DENIED:
            logger.error("S3 %s of %s refused (403): %s", operation, key, exc)
            return StorageAccessDenied(operation, key, retry_after=upload_settings.RETRY_AFTER)
        return self.unavailable(exc)

    def unavailable(self, exc):
        # Credentials, permissions, network, a 5xx, or a call the guard did
        # not make (uploads.guard): nothing the client can fix, and the
        # ticket stays usable once the store is back. A call the bulkhead
        # shed is load, not a store failing: no slot came to it within
        # STORE_WAIT (many calls, a slow or stalled store), or a call had
        # just failed; operators alert on the ERRORs failing calls log.
        if isinstance(exc, StoreBusy):
            logger.warning("S3 call shed on bucket %s: %s", self.bucket, exc)
        else:
            logger.error("S3 call failed on bucket %s: %s", self.bucket, exc)
        retry_after = getattr(exc, "retry_after", None) or upload_settings.RETRY_AFTER
        return StorageUnavailable(retry_after=retry_after)
