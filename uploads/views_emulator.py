"""
The bucket's POST endpoint, emulated over ``MEDIA_ROOT`` for filesystem mode.

Routed only when no bucket is configured. It answers as S3 does (204, or an
XML error with S3's code) so that the same client code works in both modes,
and it streams the file to a temporary file beside its destination, hashing
as it goes: an upload is never held in memory and lands by an atomic rename.
"""

import base64
import hashlib
import os
import tempfile
from xml.sax.saxutils import escape

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from uploads.backends.local import (
    LocalUploadBackend,
    PolicyViolation,
    bad_request,
    denied,
    verify_form,
)
from uploads.conf import upload_settings
from uploads.targets import get_targets

ONE_FILE = "POST requires exactly one file field, named file."


class ReceivedFile:
    def __init__(self, path, size, sha256):
        self.path = path
        self.size = size
        self.sha256 = sha256


class StreamingPolicyHandler(FileUploadHandler):
    """Writes the ``file`` field to disk in chunks; refuses other file
    fields and anything larger than any target accepts."""

    def __init__(self, directory, max_size, request=None):
        super().__init__(request)
        self.directory = directory
        self.max_size = max_size
        self.temporary = None
        self.received = None
        self.violation = None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if field_name != "file" or self.temporary is not None:
            self.violation = bad_request("InvalidArgument", ONE_FILE)
            raise StopUpload(connection_reset=False)
        os.makedirs(self.directory, exist_ok=True)
        self.temporary = tempfile.NamedTemporaryFile(
            dir=self.directory, prefix=".upload-", delete=False
        )
        self.digest = hashlib.sha256()
        self.size = 0

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > self.max_size:
            self.violation = bad_request(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
            )
            raise StopUpload(connection_reset=False)
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
    handler = StreamingPolicyHandler(
        os.path.join(backend.storage.location, ".incoming-tmp"), largest_upload(), request
    )
    request.upload_handlers = [handler]
    try:
        try:
            fields = dict(request.POST.lists())
        except (RequestDataTooBig, SuspiciousOperation):
            raise bad_request("MalformedPOSTRequest", "The POST body is not well-formed.") from None
        if handler.violation:
            raise handler.violation
        if handler.received is None:
            raise bad_request("InvalidArgument", ONE_FILE)
        key = verify_form(fields, handler.received.size, handler.received.sha256)
        try:
            backend.store(key, handler.received.path)
        except SuspiciousOperation:
            raise denied("key outside the media folder.") from None
    except PolicyViolation as violation:
        return s3_error(violation.code, violation.message, violation.status)
    finally:
        handler.discard()
    return HttpResponse(status=204)
