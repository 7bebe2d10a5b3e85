"""
The checks of a bucket, as ``check_storage`` runs them: are the credentials
accepted, does a missing key read as missing, may the site's pages post to
the bucket (CORS), does the store enforce upload policies, and can we write,
read and delete under ``media/sites/<id>/``.

Two parties reach the store, maybe at two addresses: the app at
``AWS_S3_ENDPOINT_URL`` (``http://s3:8333`` inside docker compose), browsers
and phones at ``AWS_S3_PUBLIC_ENDPOINT_URL``, for which their forms and URLs
are signed. The checks run where the command runs, so each uses the address
that this process reaches: the app's. A POST policy's signature covers the
policy, not the host, so the form a client gets is tried at the app's
address. Whether the public address leads to the same store is tried too,
but from here that proves little either way (inside a container,
``localhost`` is the container itself): the result says so, and how to
check it from a client's side.
"""

import fnmatch
import secrets
from urllib.parse import urlsplit

from django.conf import settings

from uploads.backends.s3 import S3UploadBackend
from uploads.backends.s3_errors import STORE_ERRORS, Failure, classify, error_code
from uploads.diagnostics.base import FAILED, PASSED, SKIPPED, Diagnosis, Result
from uploads.errors import StorageAccessDenied, StorageUnavailable
from uploads.uploader import multipart, post_over_http, reachable_from_here

SETTINGS_SHOWN = [
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_PUBLIC_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_S3_CUSTOM_DOMAIN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
]
SECRETS = {"AWS_SECRET_ACCESS_KEY"}

# What each S3 error code means for the person running the check.
FIXES = {
    "InvalidAccessKeyId": "The store does not know this access key: fix AWS_ACCESS_KEY_ID.",
    "SignatureDoesNotMatch": "The secret key does not match the access key: fix "
    "AWS_SECRET_ACCESS_KEY.",
    "NoSuchBucket": "There is no such bucket: create it, or fix AWS_STORAGE_BUCKET_NAME.",
    "AuthorizationHeaderMalformed": "The bucket is in another region: fix AWS_S3_REGION_NAME.",
    "PermanentRedirect": "The bucket is in another region: fix AWS_S3_REGION_NAME.",
    "AccessDenied": "The credentials may not do this: grant s3:PutObject, s3:GetObject and "
    "s3:DeleteObject on media/sites/* (see the IAM policy in the README).",
    "RequestTimeTooSkewed": "This machine's clock is wrong: synchronise it (NTP).",
}


def masked(name, value):
    if not value:
        return "(not set)"
    if name in SECRETS:
        return "*" * 8
    if name == "AWS_ACCESS_KEY_ID" and len(value) > 8:
        return value[:4] + "…" + value[-2:]
    return str(value)


def describe_error(exc):
    """What went wrong, and what to fix, from a ``ClientError``, a
    ``BotoCoreError``, or the ``StorageUnavailable`` the backend raised for
    one."""
    if isinstance(exc, StorageUnavailable) and exc.__cause__ is not None:
        exc = exc.__cause__
    if classify(exc) is Failure.UNREACHABLE:
        return str(exc), "Start the store, or fix AWS_S3_ENDPOINT_URL."
    code = error_code(exc)
    return f"{code}: {exc}", FIXES.get(code, "")


def post_form(url, fields, file_body, content_type):
    """POST a form as a browser would; the status and the body's start.
    ``OSError`` when nothing answers at ``url``."""
    return post_over_http(url, *multipart(fields, file_body, content_type, "check.txt"))


class S3Diagnosis(Diagnosis):
    """The checks, through the upload backend: the client, bounds and
    guard that confirm uses."""

    def __init__(self, site=None, origins=()):
        super().__init__(site, origins)
        self.backend = S3UploadBackend()
        self.client = self.backend.client
        self.bucket = self.backend.bucket
        storage = self.backend.storage
        public = storage.public_endpoint_url
        self.public_endpoint_url = public if public and public != storage.endpoint_url else None

    def mode(self):
        where = self.backend.storage.endpoint_url or "AWS"
        return f"S3: bucket {self.bucket} at {where}"

    def settings_in_use(self):
        return [(name, masked(name, getattr(settings, name, ""))) for name in SETTINGS_SHOWN]

    def run(self):
        """The results, in order; later checks are skipped when the store
        cannot be reached at all."""
        reached = self.check_credentials()
        yield reached
        names = ("Missing keys", "CORS", "Policy enforced", "Round trip")
        if reached.failed:
            for name in names:
                yield Result(name, SKIPPED, "the bucket cannot be reached")
            return
        yield self.check_missing_keys()
        yield self.check_cors()
        yield self.check_policy_enforced()
        if self.public_endpoint_url:
            yield self.check_public_address()
        yield self.check_round_trip()

    def check_credentials(self):
        """The backend's probe: its error tells credentials, bucket and
        region apart."""
        name = "Credentials and bucket"
        try:
            self.backend.probe()
        except StorageUnavailable as exc:
            message, fix = describe_error(exc)
            return Result(name, FAILED, message, fix)
        return Result(name, PASSED, f"bucket {self.bucket} reached; credentials accepted")

    def check_missing_keys(self):
        """AWS answers 403 instead of 404 for a missing key when the
        credentials lack s3:ListBucket: the app and its commands then
        cannot tell a missing object from a refused one."""
        name = "Missing keys"
        try:
            self.backend.exists(self.key(".missing"))
        except StorageAccessDenied:
            return Result(
                name,
                FAILED,
                "the store answers 403, not 404, for a missing key: the credentials lack "
                "s3:ListBucket, so a confirm sent before its upload answers 503 instead of "
                "409, collectstatic stops at its first new file and purge_uploads cannot "
                "count what it deletes",
                f"Grant s3:ListBucket on arn:aws:s3:::{self.bucket} "
                "(see the IAM policy in the README).",
            )
        except StorageUnavailable as exc:
            message, fix = describe_error(exc)
            return Result(name, FAILED, message, fix)
        return Result(name, PASSED, "a missing key reads as missing (404)")

    def check_cors(self):
        name = "CORS"
        if not self.origins:
            return Result(
                name,
                SKIPPED,
                "no origins to check",
                "Set CSRF_TRUSTED_ORIGINS to the origins that serve the pages, or pass --origin.",
            )
        try:
            rules = self.client.get_bucket_cors(Bucket=self.bucket)["CORSRules"]
        except STORE_ERRORS as exc:
            if classify(exc) is Failure.ACCESS_DENIED:
                return Result(
                    name,
                    FAILED,
                    "the credentials may not read the bucket's CORS rules "
                    "(s3:GetBucketCORS), so they cannot be checked",
                    f"Grant s3:GetBucketCORS on arn:aws:s3:::{self.bucket} (see the IAM "
                    "policy in the README), or run check_storage with a key that has it.",
                )
            if error_code(exc) != "NoSuchCORSConfiguration":
                message, fix = describe_error(exc)
                return Result(name, FAILED, f"could not read the bucket's CORS: {message}", fix)
            rules = []
        refused = [origin for origin in self.origins if not self.allows(rules, origin)]
        if refused:
            return Result(
                name,
                FAILED,
                f"the bucket does not let pages from {', '.join(refused)} POST and GET",
                "Add a CORS rule for these origins with methods GET, HEAD and POST "
                "(see frontend_snippets/README.md, 'Bucket CORS').",
            )
        return Result(name, PASSED, f"pages from {', '.join(self.origins)} may upload")

    @staticmethod
    def allows(rules, origin):
        for rule in rules:
            methods = set(rule.get("AllowedMethods", []))
            origins = rule.get("AllowedOrigins", [])
            if {"GET", "POST"} <= methods and any(fnmatch.fnmatchcase(origin, o) for o in origins):
                return True
        return False

    def check_round_trip(self):
        name = "Round trip"
        key = self.key(".txt")
        body = secrets.token_bytes(64)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="text/plain")
            read = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except STORE_ERRORS as exc:
            message, fix = describe_error(exc)
            return Result(name, FAILED, f"{key}: {message}", fix)
        if read != body:
            return Result(name, FAILED, f"{key} read back different bytes", "Check the store.")
        return Result(name, PASSED, f"wrote, read and deleted {key}")

    def delete_quietly(self, *keys):
        for key in keys:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except STORE_ERRORS:
                pass

    def check_policy_enforced(self):
        """A ticket's form for one key, posted with another key, must be
        refused; with its own key, accepted."""
        name = "Policy enforced"
        body = b"check_storage\n"
        form = self.ticket_form(body)
        key = form["fields"]["key"]
        wrong = {**form["fields"], "key": self.key(".txt")}
        url = reachable_from_here(form["url"])
        try:
            wrong_status, answer = post_form(url, wrong, body, "text/plain")
            right_status, right_answer = post_form(url, form["fields"], body, "text/plain")
        except OSError as exc:
            return Result(name, FAILED, f"could not post to {url}: {exc}", "")
        finally:
            self.delete_quietly(key, wrong["key"])
        if 200 <= wrong_status < 300:
            return Result(
                name,
                FAILED,
                f"the store accepted a form for another key ({wrong_status})",
                "This store does not enforce POST policies: clients could write anywhere. "
                "Use AWS S3, SeaweedFS or another store that checks them.",
            )
        if not 200 <= right_status < 300:
            return Result(
                name,
                FAILED,
                f"the store refused a valid form ({right_status}): {right_answer[:300]}",
                "Check the region, the clock, and that the credentials may write "
                "media/sites/* (see the IAM policy in the README).",
            )
        return Result(name, PASSED, f"a form for another key was refused ({wrong_status})")

    def check_public_address(self):
        """Post a ticket's form where clients post it, and look for the
        object through the app's address: then both lead to one store."""
        name = "Public address"
        public = self.public_endpoint_url
        how = (
            f"From a browser or phone on the clients' network, open {public}/{self.bucket}/ : "
            "an XML answer from the store (AccessDenied is expected) means clients reach it; "
            "a connection error means AWS_S3_PUBLIC_ENDPOINT_URL is wrong or not published."
        )
        if urlsplit(public).hostname in ("localhost", "127.0.0.1", "::1"):
            how += (
                " 'localhost' is each device's own address: phones reach this one only "
                "with a host name or a network address."
            )
        body = b"check_storage\n"
        form = self.ticket_form(body)
        key = form["fields"]["key"]
        try:
            status, answer = post_form(form["url"], form["fields"], body, "text/plain")
            arrived = 200 <= status < 300 and self.backend.exists(key)
        except OSError as exc:
            return Result(
                name,
                SKIPPED,
                f"{public}, where clients upload, cannot be reached from here ({exc}); inside a "
                "container that address may be the container itself, so this says nothing "
                "about browsers and phones",
                check=how,
            )
        except StorageUnavailable as exc:
            message, fix = describe_error(exc)
            return Result(name, FAILED, f"could not look for {key}: {message}", fix)
        finally:
            self.delete_quietly(key)
        if not arrived:
            answered = (
                f"refused a valid form ({status}): {answer[:300]}"
                if status >= 300
                else f"accepted a form ({status}), but {key} is not in bucket {self.bucket}"
            )
            return Result(
                name,
                FAILED,
                f"the store at {public} {answered}",
                "AWS_S3_PUBLIC_ENDPOINT_URL must be the address where clients reach this same "
                "store (AWS_S3_ENDPOINT_URL is the app's).",
                check=how,
            )
        return Result(
            name,
            PASSED,
            f"a form posted to {public}, where clients upload, reached bucket {self.bucket} "
            "(from here; browsers and phones must reach it too)",
            check=how,
        )
