"""
The bucket's POST endpoint, emulated over ``MEDIA_ROOT`` for filesystem mode.

Routed only when no bucket is configured. It answers as S3 does (204, or an
XML error with S3's code) so that the same client code works in both modes,
and it streams the file to a temporary file (in the media storage's
``temporary_folder``), hashing as it goes: an upload is never held in
memory and lands by an atomic rename.

The policy and its signature are checked (``uploads.emulator.policy``) from
the fields that come before the file (S3 requires the file to be the last
field; fields after it are ignored, as S3 ignores them), when the file's
part begins: a form that is not signed, or not for this file, is refused
before a byte of the file is read, and the rest of the body is left unread.
"""

import base64
import hashlib
import os
import tempfile
from xml.sax.saxutils import escape

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from uploads.backends.local import LocalUploadBackend
from uploads.conf import upload_settings
from uploads.emulator.policy import (
    PolicyViolation,
    authorize_form,
    bad_request,
    denied,
    too_large,
)
from uploads.targets import get_targets

ONE_FILE = "POST requires exactly one file field, named file."


class ReceivedFile:
    def __init__(self, path, size, sha256):
        self.path = path
        self.size = size
        self.sha256 = sha256

    def close(self):
        """Nothing to close: the file was closed when it was complete.
        MultiPartParser closes the files it holds when a later part fails
        (a field after the file over DATA_UPLOAD_MAX_MEMORY_SIZE), then
        raises that error, answered as a malformed body."""


class StreamingPolicyHandler(FileUploadHandler):
    """Checks the form's fields when the ``file`` field begins, then writes
    the file to disk in chunks; refuses other file fields and anything
    larger than the policy allows.

    A refusal stops the parse (``StopUpload(connection_reset=True)``): the
    rest of the body is not read."""

    def __init__(self, directory, request=None):
        super().__init__(request)
        self.directory = directory
        self.parser = None  # the MultiPartParser feeding this handler
        self.grant = None
        self.temporary = None
        self.received = None
        self.violation = None

    def refuse(self, violation):
        self.violation = violation
        raise StopUpload(connection_reset=True)

    def fields_so_far(self):
        # The fields parsed so far: those before the file. MultiPartParser
        # hands a handler no fields, so they are read where it keeps them.
        return {name: list(values) for name, values in self.parser._post.lists()}

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if field_name != "file" or self.temporary is not None:
            self.refuse(bad_request("InvalidArgument", ONE_FILE))
        try:
            self.grant = authorize_form(self.fields_so_far())
        except PolicyViolation as violation:
            self.refuse(violation)
        self.max_size = min(self.grant.max_size or largest_upload(), largest_upload())
        os.makedirs(self.directory, exist_ok=True)
        self.temporary = tempfile.NamedTemporaryFile(
            dir=self.directory, prefix=".upload-", delete=False
        )
        self.digest = hashlib.sha256()
        self.size = 0

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > self.max_size:
            self.refuse(too_large())
        self.temporary.write(raw_data)
        self.digest.update(raw_data)
        return None

    def file_complete(self, file_size):
        self.temporary.close()
        self.received = ReceivedFile(
            self.temporary.name, self.size, base64.b64encode(self.digest.digest()).decode()
        )
        return self.received

    def discard(self):
        if self.temporary is not None:
            self.temporary.close()
            try:
                os.remove(self.temporary.name)
            except FileNotFoundError:
                pass


def s3_error(code, message, status):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    )
    return HttpResponse(body, status=status, content_type="application/xml")


def largest_upload():
    return max(
        [target.get_max_size() for target in get_targets().values()] or [upload_settings.MAX_SIZE]
    )


@csrf_exempt
@require_POST
def emulated_post(request):
    backend = LocalUploadBackend()
    handler = StreamingPolicyHandler(backend.storage.temporary_path(), request)
    try:
        if not request.META.get("CONTENT_LENGTH"):
            # A chunked body has no length, and Django reads none of it: as
            # S3, ask for the length rather than answer that no file came.
            raise PolicyViolation(
                "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
            )
        try:
            # Fields are read as UTF-8 whatever charset the Content-Type
            # names (a ticket's fields are ASCII): decoding with it, as
            # Django would, was a 500 for one that is not a text encoding
            # (charset=zlib_codec).
            handler.parser = MultiPartParser(request.META, request, [handler], "utf-8")
            handler.parser.parse()
        except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation):
            raise bad_request("MalformedPOSTRequest", "The POST body is not well-formed.") from None
        if handler.violation:
            raise handler.violation
        if handler.received is None:
            raise bad_request("InvalidArgument", ONE_FILE)
        key = handler.grant.check_file(handler.received.size, handler.received.sha256)
        try:
            backend.store(key, handler.received.path)
        except SuspiciousOperation:
            raise denied("key outside the media folder.") from None
    except PolicyViolation as violation:
        return s3_error(violation.code, violation.message, violation.status)
    finally:
        handler.discard()
    return HttpResponse(status=204)
