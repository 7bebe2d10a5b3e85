"""
What an error from boto3 means, decided here once for the S3 backend, its
health probe and ``check_storage`` (``uploads.diagnostics.s3``).

botocore raises ``ClientError`` when the store answers with an error: the
store's code is in ``response["Error"]["Code"]``, except for HEAD, whose
answers have no body, so that the code is then the status ("404", "403").
It raises a ``BotoCoreError`` when no usable answer came: connection
refused, timeouts, or a call the guard did not make (``uploads.guard``).
"""

import enum

from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as NoConnection

# What a call to the store may raise, for ``except`` clauses.
STORE_ERRORS = (ClientError, BotoCoreError)


class Failure(enum.Enum):
    MISSING = "no object at the key"
    CHANGED = "the object no longer matches the ETag"
    ACCESS_DENIED = "the credentials may not do this"
    NO_BUCKET = "no such bucket"
    UNREACHABLE = "the store cannot be reached"
    FAILED = "the store failed"


MISSING_CODES = {"NoSuchKey", "NotFound", "404"}
DENIED_CODES = {"AccessDenied", "403"}


def error_code(exc):
    """The store's error code, or the exception's class name when the store
    did not answer."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return type(exc).__name__


def status_code(exc):
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def classify(exc):
    """The ``Failure`` that ``exc``, a ``ClientError`` or ``BotoCoreError``,
    stands for.

    A missing bucket answers 404 too, but is no missing object: it is a
    store set up wrong. A 403 other than ``AccessDenied`` (an unknown key
    id, a bad signature, a skewed clock) is credentials or settings the
    store refuses, not a permission the credentials lack."""
    if isinstance(exc, NoConnection):
        return Failure.UNREACHABLE
    if not isinstance(exc, ClientError):
        return Failure.FAILED
    code, status = error_code(exc), status_code(exc)
    if code == "NoSuchBucket":
        return Failure.NO_BUCKET
    if code in MISSING_CODES or status == 404:
        return Failure.MISSING
    if code == "PreconditionFailed" or status == 412:
        return Failure.CHANGED
    if code in DENIED_CODES and status in (403, None):
        return Failure.ACCESS_DENIED
    return Failure.FAILED
