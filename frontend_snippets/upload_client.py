#!/usr/bin/env python3
"""Direct-to-bucket image uploads for the inventory API: a reference client.

As a command::

    python upload_client.py login --server https://shop.example.com
    python upload_client.py upload riz.jpg --product 42
    python upload_client.py upload logo.png --logo

As a module::

    from upload_client import Client

    client = Client.login("https://shop.example.com", "dakar-staff", password)
    image = client.upload("riz.jpg", kind="product", object_id=42)
    print(image["url"])

The protocol is three HTTP calls: ask the API for an upload ticket, post the
file with the ticket's form straight to the bucket (or to the development
server's emulator), then ask the API to confirm. This file shows every step
for app developers porting it to Kotlin or Swift, so it uses nothing but the
standard library (Python >= 3.9): copy it anywhere and run it.

What it does beyond the three calls:

- the SHA-256 of the file goes with the ticket request, so the bucket refuses
  any other body;
- the file is streamed from disk, never read into memory, with a progress bar
  on stderr;
- network errors, 5xx answers, ``storage_unavailable`` and ``throttled`` are
  retried with exponential backoff, honouring ``Retry-After``; each step is
  retried on its own, so a failed confirm never costs a second upload, an
  expired ticket is replaced by a new one, and a login that finds another
  for its username being checked (``login_in_progress``) is tried again;
- every other error raises :class:`UploadError` with the API's ``code`` and
  ``detail`` (in the language asked for with ``--lang``).
"""

import argparse
import base64
import functools
import getpass
import hashlib
import http.client
import json
import mimetypes
import os
import random
import ssl
import sys
import time
import urllib.parse
import uuid

__all__ = ["Client", "UploadError", "main"]

CHUNK_SIZE = 64 * 1024
RETRYABLE_CODES = {"network_error", "storage_unavailable", "throttled"}
# Magic numbers of the formats the API accepts; the extension is only a hint.
SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]


class UploadError(Exception):
    """An upload that failed for a reason the user or the app should see.

    ``code`` is the API's error code (``invalid``, ``ticket_expired``, ...),
    ``upload_refused`` when the bucket refused the form, ``network_error``
    when the server could not be reached; ``detail`` is the message to show.
    """

    def __init__(self, code, detail, *, status=0, errors=None, retry_after=None):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.status = status
        self.errors = errors
        self.retry_after = retry_after

    def __str__(self):
        text = f"{self.detail} ({self.code})" if self.detail else self.code
        for field, messages in (self.errors or {}).items():
            text += f"\n  {field}: {' '.join(map(str, messages))}"
        return text


class Response:
    """What one HTTP exchange gave: status, headers and body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            return None


class Client:
    """One user's session with the inventory API.

    ``base_url`` is the server's address (``https://shop.example.com``);
    ``token`` an API token (see :meth:`login`); ``language`` the language of
    error details (``fr``, ``en``). ``retries`` and ``retry_delay`` (seconds,
    doubled at each try) set the backoff.
    """

    def __init__(
        self,
        base_url,
        token=None,
        *,
        language=None,
        retries=4,
        retry_delay=0.5,
        timeout=60,
        ssl_context=None,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.language = language
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.ssl_context = ssl_context

    # --- The API -----------------------------------------------------------

    @classmethod
    def login(cls, base_url, username, password, **options):
        """A client holding the token that ``username`` gets from the API."""
        client = cls(base_url, **options)
        client.token = client.obtain_token(username, password)
        return client

    def obtain_token(self, username, password):
        # login_in_progress: another login for the username is being checked
        # (this one's first try, sent again after a timeout on a slow link).
        body = self.retrying(
            lambda: self.api(
                "POST", "/api/auth/token/", {"username": username, "password": password}
            ),
            also={"login_in_progress"},
        )
        return body["token"]

    def request_ticket(self, *, kind, size, content_type, object_id=None, filename="", sha256=""):
        """Step 1: a ticket, with the form that lets us post the file."""
        data = {"kind": kind, "content_type": content_type, "size": size, "filename": filename}
        if object_id is not None:
            data["object_id"] = object_id
        if sha256:
            data["sha256"] = sha256
        return self.retrying(lambda: self.api("POST", "/api/uploads/tickets/", data))

    def post_file(self, upload, path, *, content_type, progress=None):
        """Step 2: post the ticket's fields, then the file, to ``upload["url"]``.

        The file goes last: S3 ignores every field after it."""
        boundary = uuid.uuid4().hex
        head = b"".join(
            form_field(boundary, name, value) for name, value in upload["fields"].items()
        )
        head += (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{quote_header(path)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = os.path.getsize(path)

        def body():
            sent = 0
            yield head
            with open(path, "rb") as file:
                while chunk := file.read(CHUNK_SIZE):
                    yield chunk
                    sent += len(chunk)
                    if progress:
                        progress(sent, size)
            yield tail

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        }
        response = self.send("POST", upload["url"], headers, body())
        if not 200 <= response.status < 300:
            raise storage_error(response)

    def confirm(self, ticket_id):
        """Step 3: the server checks the image and attaches it."""
        # upload_missing right after an upload: a store slow to list it.
        return self.retrying(
            lambda: self.api("POST", f"/api/uploads/tickets/{ticket_id}/confirm/"),
            also={"upload_missing"},
        )

    def upload(
        self,
        path,
        *,
        kind="product",
        object_id=None,
        content_type=None,
        progress=None,
        resume=None,
    ):
        """Upload the image at ``path`` and attach it; returns the confirm
        response (``id, status, kind, object_id, key, url, format, width,
        height, size``). ``progress(sent, total)`` follows the upload.

        A failure that may pass later (the network, the server, a limit, a
        ticket expired on a slow link) carries a ``resume``: pass it back
        with the same ``path`` to go on from where the upload stopped,
        without a second upload of a file the bucket already holds (a
        phone's app keeps it beside the photo and offers "Try again")."""
        content_type = content_type or guess_content_type(path)
        state = resume or {
            "request": {
                "kind": kind,
                "object_id": object_id,
                "filename": os.path.basename(path),
                "content_type": content_type,
                "size": os.path.getsize(path),
                "sha256": sha256_base64(path),
            },
            "ticket": None,  # the ticket in use
            "stored": False,  # whether the bucket holds the file
        }
        try:
            return self.send_upload(state, path, progress)
        except UploadError as error:
            if may_pass_later(error):
                error.resume = state
            raise

    def send_upload(self, state, path, progress):
        """The steps of :meth:`upload` not done yet, recorded in ``state``."""
        for renewals in range(3):
            if state["ticket"] is None:
                state["ticket"] = self.request_ticket(**state["request"])
            try:
                if not state["stored"]:
                    post = functools.partial(
                        self.post_file,
                        state["ticket"]["upload"],
                        path,
                        content_type=state["request"]["content_type"],
                        progress=progress,
                    )
                    self.retrying(post)
                    state["stored"] = True
                return self.confirm(state["ticket"]["id"])
            except UploadError as error:
                if error.code == "upload_missing":
                    state["stored"] = False  # it never landed: send it again
                # Only an expired ticket is replaced; nothing else re-uploads.
                if error.code != "ticket_expired":
                    raise
                state["ticket"], state["stored"] = None, False
                if renewals == 2:
                    raise

    # --- HTTP --------------------------------------------------------------

    def api(self, method, path, data=None):
        """One API call: the JSON answer, or an :class:`UploadError`."""
        headers = {"Accept": "application/json"}
        body = None
        if data is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(data).encode()
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        if self.language:
            headers["Accept-Language"] = self.language
        response = self.send(method, self.base_url + path, headers, body)
        answer = response.json()
        if 200 <= response.status < 300 and isinstance(answer, dict):
            return answer
        answer = answer if isinstance(answer, dict) else {}
        raise UploadError(
            answer.get("code") or f"http_{response.status}",
            answer.get("detail") or http.client.responses.get(response.status, ""),
            status=response.status,
            errors=answer.get("errors"),
            retry_after=retry_after(response.headers.get("Retry-After")),
        )

    def send(self, method, url, headers, body=None):
        """One HTTP request; ``body`` is bytes or an iterable of bytes."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.netloc,
                timeout=self.timeout,
                context=self.ssl_context or ssl.create_default_context(),
            )
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
        else:
            raise UploadError("invalid_url", f"Not an http(s) URL: {url}")
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        except (OSError, http.client.HTTPException) as error:
            raise UploadError("network_error", str(error) or type(error).__name__) from error
        finally:
            connection.close()

    def retrying(self, step, also=()):
        """Run ``step``, retrying what a later try may fix."""
        for tries in range(self.retries + 1):
            try:
                return step()
            except UploadError as error:
                if not retryable(error, also) or tries == self.retries:
                    raise
                delay = error.retry_after or self.retry_delay * 2**tries * random.uniform(
                    0.75, 1.25
                )
                time.sleep(delay)


# --- Helpers -----------------------------------------------------------------


def retryable(error, also=()):
    """Whether a step that failed so is worth another try at once."""
    return error.status >= 500 or error.code in RETRYABLE_CODES | set(also)


def may_pass_later(error):
    """Whether the same upload may go through if tried again later."""
    return retryable(error, {"ticket_expired", "upload_missing"}) or error.status == 429


def form_field(boundary, name, value):
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{quote_header(name)}"\r\n\r\n'
        f"{value}\r\n"
    ).encode()


def quote_header(text):
    """A name fit for a Content-Disposition header (as browsers send it)."""
    name = os.path.basename(text)
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def guess_content_type(path):
    with open(path, "rb") as file:
        start = file.read(16)
    for signature, content_type in SIGNATURES:
        if start.startswith(signature):
            return content_type
    if start[:4] == b"RIFF" and start[8:12] == b"WEBP":
        return "image/webp"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def sha256_base64(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def retry_after(value, ceiling=60):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return min(seconds, ceiling) if seconds > 0 else None


def storage_error(response):
    """The bucket's XML refusal as an :class:`UploadError`."""
    text = response.body.decode("utf-8", "replace")
    code = between(text, "<Code>", "</Code>") or f"http_{response.status}"
    message = between(text, "<Message>", "</Message>")
    if "expired" in message.lower():
        return UploadError("ticket_expired", message, status=response.status)
    return UploadError("upload_refused", f"{code}: {message}".strip(": "), status=response.status)


def between(text, start, end):
    head, found, rest = text.partition(start)
    return rest.partition(end)[0].strip() if found else ""


class ProgressBar:
    """``[#####.....]  42%  1.2 MiB / 2.9 MiB`` on a terminal, quiet otherwise."""

    def __init__(self, stream=sys.stderr, width=30):
        self.stream = stream
        self.width = width
        self.shown = -1

    def __call__(self, sent, total):
        percent = 100 * sent // total if total else 100
        if percent == self.shown:
            return
        self.shown = percent
        filled = self.width * percent // 100
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if sent >= total else ""
        self.stream.write(f"\r[{bar}] {percent:3d}%  {mebibytes(sent)} / {mebibytes(total)}{end}")
        self.stream.flush()


def mebibytes(size):
    return f"{size / 2**20:.1f} MiB"


# --- The command -------------------------------------------------------------


def parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        default=os.environ.get("INVENTORY_URL", "http://localhost:8000"),
        help="the server's address (default: $INVENTORY_URL or http://localhost:8000)",
    )
    common.add_argument(
        "--username",
        default=os.environ.get("INVENTORY_USERNAME"),
        help="default: $INVENTORY_USERNAME",
    )
    common.add_argument(
        "--password",
        default=os.environ.get("INVENTORY_PASSWORD"),
        help="default: $INVENTORY_PASSWORD, or asked for",
    )
    common.add_argument(
        "--token",
        default=os.environ.get("INVENTORY_TOKEN"),
        help="an API token instead of a password (default: $INVENTORY_TOKEN)",
    )
    common.add_argument("--lang", help="language of error messages, e.g. fr")
    common.add_argument("--retries", type=int, default=4, help="retries per step (default: 4)")

    main_parser = argparse.ArgumentParser(
        prog="upload_client.py",
        description="Upload images to the inventory API, straight to its bucket.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    commands.add_parser("login", parents=[common], help="print an API token")
    upload = commands.add_parser("upload", parents=[common], help="upload and attach an image")
    upload.add_argument("path", help="a JPEG, PNG or WebP file")
    target = upload.add_mutually_exclusive_group(required=True)
    target.add_argument("--product", type=int, metavar="ID", help="the product to attach it to")
    target.add_argument("--logo", action="store_true", help="make it the site's logo")
    upload.add_argument("--content-type", help="default: from the file's first bytes")
    upload.add_argument("--quiet", action="store_true", help="no progress bar")
    return main_parser


def main(argv=None):
    options = parser().parse_args(argv)
    client = Client(options.server, options.token, language=options.lang, retries=options.retries)
    try:
        if not client.token:
            username = options.username or input("Username: ")
            password = options.password or getpass.getpass()
            client.token = client.obtain_token(username, password)
        if options.command == "login":
            print(client.token)
            return 0
        show_progress = not options.quiet and sys.stderr.isatty()
        image = client.upload(
            options.path,
            kind="logo" if options.logo else "product",
            object_id=options.product,
            content_type=options.content_type,
            progress=ProgressBar() if show_progress else None,
        )
    except UploadError as error:
        print(f"upload_client: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"upload_client: {error}", file=sys.stderr)
        return 2
    print(json.dumps(image, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
