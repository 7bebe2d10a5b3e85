"""
Uploading a file from the server as a client does: ticket, POST, confirm.

For commands, tasks and tests that attach files they make themselves (the
demo data's pictures, say). They take the clients' path rather than writing
to the storage: the same keys, policy, inspection, events and clean-up, and
no second way for an object to reach the store.

    upload(user, kind=..., object_id=..., body=..., content_type=...)

The form goes where the ticket says. In S3 mode that is the bucket, over
HTTP. In filesystem mode it is this app's emulator view, which is called in
this process, so no server needs to be running.
"""

import base64
import hashlib
import io
import time
import urllib.error
import urllib.request
import uuid
from functools import partial
from urllib.parse import urlsplit

from django.core.handlers.wsgi import WSGIRequest
from django.urls import get_script_prefix, resolve

from uploads import services
from uploads.media import S3MediaStorage

POST_TIMEOUT = 30
# The store's answers that ask for the request again (S3's 500
# InternalError, "please try again", and 503 SlowDown; a gateway's 502 and
# 504): the same form, sent again, writes the same bytes to the same key.
# Sent this many times at most, after 0.25 s, then 0.5 s: the browser's
# uploader tries again too, and botocore's standard retries the store's
# other calls.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
POST_ATTEMPTS = 3
RETRY_DELAY = 0.25


class UploadRefused(Exception):
    """The store refused the ticket's form: its status and its answer."""

    def __init__(self, status, answer):
        super().__init__(f"The store answered {status}: {answer[:300]}")
        self.status = status
        self.answer = answer


def upload(user, *, kind, body, content_type, object_id=None, filename=""):
    """Attach ``body`` to ``kind`` ``object_id`` as ``user``; the confirmed
    ticket (``final_key``, ``format``, ``width``, ``height``).

    Raises what ``issue_ticket`` and ``confirm_ticket`` raise, or
    ``UploadRefused``. The body's SHA-256 goes with the ticket request, as
    the reference clients send it, so the store accepts no other bytes.
    """
    issued = services.issue_ticket(
        user,
        kind=kind,
        content_type=content_type,
        size=len(body),
        object_id=object_id,
        filename=filename,
        sha256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
    )
    form = issued.upload
    status, answer = post_form(form["url"], form["fields"], body, content_type, filename)
    if not 200 <= status < 300:
        raise UploadRefused(status, answer)
    return services.confirm_ticket(user, issued.ticket.id)


def post_form(url, fields, body, content_type, filename=""):
    """Post a ticket's form with ``body`` as its file, again while the store
    asks for it (``RETRY_STATUSES``); the last status and the start of its
    answer."""
    payload, header = multipart(fields, body, content_type, filename or "file")
    if urlsplit(url).scheme:
        send = partial(post_over_http, reachable_from_here(url))
    else:
        send = partial(post_in_process, url)
    for attempt in range(POST_ATTEMPTS):
        if attempt:
            time.sleep(RETRY_DELAY * 2 ** (attempt - 1))
        status, answer = send(payload, header)
        if status not in RETRY_STATUSES:
            break
    return status, answer


def multipart(fields, body, content_type, filename):
    """A multipart/form-data body: the fields, then the file, last (S3
    ignores any field after the file)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    # As browsers write a file name: the characters that would end it, escaped.
    quoted = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def reachable_from_here(url):
    """The ticket's URL at the address this process reaches the store at.

    Tickets are made for clients, at ``AWS_S3_PUBLIC_ENDPOINT_URL``; the app
    may reach the store elsewhere (``http://s3:8333`` in docker compose). A
    POST policy's signature covers the form, not the host, so the form is
    the same there.
    """
    storage = S3MediaStorage()
    public, internal = storage.public_endpoint_url, storage.endpoint_url
    if public and internal and url.startswith(public):
        return internal + url.removeprefix(public)
    return url


def post_over_http(url, payload, header):
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": header})
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT) as response:
            return response.status, response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(2000).decode("utf-8", "replace")


def post_in_process(url, payload, header):
    """Call the view that serves ``url`` (a path of this app) with the
    request a server would build from the POST.

    The view alone, not the whole request handler: the handler's
    ``request_finished`` signal would close the caller's database
    connection, in the middle of its work.
    """
    path = "/" + url.removeprefix(get_script_prefix())
    match = resolve(path)
    request = WSGIRequest(
        {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": get_script_prefix().rstrip("/"),
            "PATH_INFO": path,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "CONTENT_TYPE": header,
            "CONTENT_LENGTH": str(len(payload)),
        }
    )
    response = match.func(request, *match.args, **match.kwargs)
    return response.status_code, response.content[:2000].decode("utf-8", "replace")
