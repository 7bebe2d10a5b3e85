"""
The upload policy of a ticket: the form fields a client sends and the
conditions the store enforces on them. Both backends sign the same
conditions: the S3 one with the bucket's credentials, the filesystem one for
its emulator view.

Every condition is exact: one key (never ``starts-with``), one Content-Type,
a content-length range pinned to the declared size and, when the client gave
one, the SHA-256 of the body. A form field that no condition covers is
refused by the store, so a client cannot add metadata or redirects.
"""

from dataclasses import dataclass
from datetime import datetime

from uploads.conf import upload_settings


@dataclass(frozen=True)
class UploadPolicy:
    key: str
    content_type: str
    size: int
    expires_at: datetime
    sha256: str = ""

    @property
    def pins_checksum(self):
        return bool(self.sha256) and upload_settings.PIN_CHECKSUM

    def fields(self):
        """The fields the client posts (before the signature fields)."""
        fields = {"key": self.key, "Content-Type": self.content_type}
        if self.pins_checksum:
            fields["x-amz-checksum-algorithm"] = "SHA256"
            fields["x-amz-checksum-sha256"] = self.sha256
        return fields

    def conditions(self):
        conditions = [{name: value} for name, value in self.fields().items()]
        conditions.append(["content-length-range", self.size, self.size])
        return conditions
