"""
A health check of the media store, from the outside, as ``check_storage``
runs it: are the credentials accepted, does a missing key read as missing,
may the site's pages post to the bucket (CORS), does the store enforce
upload policies, and can we write, read and delete under
``media/sites/<id>/``. Each failed check says what to fix.

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
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.conf import settings
from django.utils import timezone

from uploads.backends import get_backend
from uploads.backends.local import PolicyViolation, verify_form
from uploads.keys import media_key, site_folder
from uploads.media import LocalMediaStorage, S3MediaStorage
from uploads.policy import UploadPolicy
from uploads.s3 import s3_enabled, store_bounds
from uploads.uploader import multipart, post_over_http, reachable_from_here

PASSED, FAILED, SKIPPED = "ok", "FAIL", "skip"

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


def masked(name, value):
    if not value:
        return "(not set)"
    if name in SECRETS:
        return "*" * 8
    if name == "AWS_ACCESS_KEY_ID" and len(value) > 8:
        return value[:4] + "…" + value[-2:]
    return str(value)


def error_code(exc):
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return type(exc).__name__


def describe_error(exc):
    if isinstance(exc, EndpointConnectionError):
        return str(exc), "Start the store, or fix AWS_S3_ENDPOINT_URL."
    code = error_code(exc)
    return f"{code}: {exc}", FIXES.get(code, "")


def post_form(url, fields, file_body, content_type):
    """POST a form as a browser would; the status and the body's start.
    ``OSError`` when nothing answers at ``url``."""
    return post_over_http(url, *multipart(fields, file_body, content_type, "check.txt"))


class StorageDiagnosis:
    """The checks, for one site folder (``site``: an id or ``None`` for the
    shared ``default`` folder) and the origins whose pages upload."""

    def __init__(self, site=None, origins=()):
        self.folder = site_folder(site, "check")
        self.origins = list(origins)
        self.s3 = s3_enabled()

    def mode(self):
        if self.s3:
            storage = S3MediaStorage()
            where = storage.endpoint_url or "AWS"
            return f"S3: bucket {storage.bucket_name} at {where}"
        return f"filesystem: {LocalMediaStorage().location}"

    def settings_in_use(self):
        if not self.s3:
            return [("MEDIA_ROOT", str(settings.MEDIA_ROOT))]
        return [(name, masked(name, getattr(settings, name, ""))) for name in SETTINGS_SHOWN]

    def connect(self, **bounds):
        """``bounds`` override the settings' timeouts and tries."""
        storage = S3MediaStorage(**bounds)
        self.client = storage.client
        self.bucket = storage.bucket_name
        public = storage.public_endpoint_url
        self.public_endpoint_url = public if public and public != storage.endpoint_url else None
        self.missing_key_answer = None

    def probe(self, timeout=None):
        """The quick check of a health endpoint: the store answers, in one
        try of at most ``timeout`` seconds to connect and as many to read
        (unless the settings give less)."""
        if not self.s3:
            return self.check_media_root()
        bounds = store_bounds()
        if timeout is not None:
            bounds.update(
                connect_timeout=min(timeout, bounds["connect_timeout"]),
                read_timeout=min(timeout, bounds["read_timeout"]),
                max_attempts=1,
            )
        self.connect(**bounds)
        return self.check_credentials()

    def run(self):
        """The results, in order; later checks are skipped when the store
        cannot be reached at all."""
        if not self.s3:
            yield self.check_policy_enforced()
            yield self.check_round_trip_on_disk()
            return
        self.connect()
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

    def key(self, suffix):
        return media_key(f"{self.folder}/{uuid.uuid4().hex}{suffix}")

    # --- S3 ----------------------------------------------------------------

    def check_credentials(self):
        """A GET of a missing key: its error tells credentials, bucket and
        region apart, and needs no permission beyond the media prefix."""
        name = "Credentials and bucket"
        try:
            self.client.get_object(Bucket=self.bucket, Key=self.key(".missing"))
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc)
            if code not in ("NoSuchKey", "AccessDenied", "404"):
                message, fix = describe_error(exc)
                return Result(name, FAILED, message, fix)
            self.missing_key_answer = code
        return Result(name, PASSED, f"bucket {self.bucket} reached; credentials accepted")

    def check_missing_keys(self):
        """AWS answers 403 instead of 404 for a missing key when the
        credentials lack s3:ListBucket: the app and its commands then
        cannot tell a missing object from a refused one."""
        name = "Missing keys"
        if self.missing_key_answer == "AccessDenied":
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
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "AccessDenied":
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
        except (ClientError, BotoCoreError) as exc:
            message, fix = describe_error(exc)
            return Result(name, FAILED, f"{key}: {message}", fix)
        if read != body:
            return Result(name, FAILED, f"{key} read back different bytes", "Check the store.")
        return Result(name, PASSED, f"wrote, read and deleted {key}")

    # --- Both modes ----------------------------------------------------------

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

    def delete_quietly(self, *keys):
        for key in keys:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except (ClientError, BotoCoreError):
                pass

    def check_policy_enforced(self):
        """A ticket's form for one key, posted with another key, must be
        refused; with its own key, accepted."""
        name = "Policy enforced"
        body = b"check_storage\n"
        form = self.ticket_form(body)
        key = form["fields"]["key"]
        wrong = {**form["fields"], "key": self.key(".txt")}
        if not self.s3:
            try:
                verify_form({k: [v] for k, v in wrong.items()}, len(body), "")
            except PolicyViolation:
                return Result(name, PASSED, "the emulator refuses a form for another key")
            return Result(name, FAILED, "the emulator accepted a form for another key")
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
            arrived = 200 <= status < 300 and self.exists(key)
        except OSError as exc:
            return Result(
                name,
                SKIPPED,
                f"{public}, where clients upload, cannot be reached from here ({exc}); inside a "
                "container that address may be the container itself, so this says nothing "
                "about browsers and phones",
                check=how,
            )
        except (ClientError, BotoCoreError) as exc:
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

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def check_media_root(self):
        root = str(settings.MEDIA_ROOT)
        try:
            os.makedirs(root, exist_ok=True)
        except OSError:
            pass
        if os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK):
            return Result("Media folder", PASSED, f"{root} is writable")
        return Result(
            "Media folder",
            FAILED,
            f"{root} is missing or not writable",
            "Create MEDIA_ROOT and make it writable by the user running the app.",
        )

    def check_round_trip_on_disk(self):
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
