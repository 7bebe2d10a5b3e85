"""
The emulator's POST policies: signing a ticket's form, and checking a posted
one as S3 checks it.

Forms carry the same fields as S3's (``key``, ``Content-Type``, checksum,
``policy``, ``x-amz-signature``), so that the same client code works in both
modes. The signature is an HMAC of the policy keyed with ``SECRET_KEY``.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

SIGNATURE_SALT = "uploads.emulator.policy"
# Form fields outside the policy's conditions, as in S3.
UNSIGNED_FIELDS = {"policy", "x-amz-signature", "file"}
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class PolicyViolation(Exception):
    """What S3 would answer: an error code, a message and a status."""

    def __init__(self, code, message, status=403):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def sign(encoded_policy):
    return salted_hmac(SIGNATURE_SALT, encoded_policy, algorithm="sha256").hexdigest()


def signed_fields(policy):
    """The form fields of ``policy`` (an ``UploadPolicy``), signed."""
    document = {
        "expiration": policy.expires_at.astimezone(UTC).strftime(EXPIRATION_FORMAT),
        "conditions": policy.conditions(),
    }
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    return {**policy.fields(), "policy": encoded, "x-amz-signature": sign(encoded)}


def denied(reason):
    return PolicyViolation("AccessDenied", f"Invalid according to Policy: {reason}")


def bad_request(code, message):
    return PolicyViolation(code, message, status=400)


def too_large():
    return bad_request("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


@dataclass(frozen=True)
class Grant:
    """What a correctly signed form allows, decided from its fields alone:
    the key it may write, and what the file must be."""

    key: str
    length_range: tuple | None  # (min, max) bytes
    sha256: str | None  # base64 digest the file must have

    @property
    def max_size(self):
        return None if self.length_range is None else self.length_range[1]

    def check_file(self, size, sha256):
        """The key, if a file of ``size`` bytes with base64 digest
        ``sha256`` fits; otherwise ``PolicyViolation``."""
        if self.length_range and size > self.length_range[1]:
            raise too_large()
        if self.length_range and size < self.length_range[0]:
            raise bad_request(
                "EntityTooSmall", "Your proposed upload is smaller than the minimum size."
            )
        if self.sha256 is not None and self.sha256 != sha256:
            raise bad_request(
                "BadDigest", "The SHA256 you specified did not match what we received."
            )
        return self.key


def authorize_form(fields):
    """The ``Grant`` of a form's fields, or ``PolicyViolation``, decided as
    S3 decides it.

    Only the fields before the file are given: S3 requires the file to be
    the last field, and the emulator decides from them before it reads a
    byte of the file, so that an unsigned body never reaches the disk.
    ``fields`` maps each form field to the list of its values.
    """
    # Names are read without case (``form``): ``KEY`` and ``key`` are one
    # field given twice, not two fields of which only the last is read.
    names = [name.lower() for name, values in fields.items() for _ in values]
    if len(names) != len(set(names)):
        raise bad_request("InvalidArgument", "A form field is repeated.")
    form = {name.lower(): values[0] for name, values in fields.items()}
    conditions = read_policy(form)
    covered, length_range = check_conditions(form, conditions)
    extra = sorted(
        name
        for name in form
        if name not in covered and name not in UNSIGNED_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        raise denied(f"Extra input fields: {', '.join(extra)}")
    return Grant(form["key"], length_range, form.get("x-amz-checksum-sha256"))


def verify_form(fields, size, sha256):
    """The key a form may write ``size`` bytes with base64 digest ``sha256``
    to, or ``PolicyViolation``: ``authorize_form``, then the file's checks."""
    return authorize_form(fields).check_file(size, sha256)


def read_policy(form):
    """The conditions of a correctly signed, unexpired policy."""
    encoded = form.get("policy", "")
    if not encoded or not constant_time_compare(sign(encoded), form.get("x-amz-signature", "")):
        raise denied("signature mismatch.")
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
        expiration = datetime.strptime(document["expiration"], EXPIRATION_FORMAT)
        conditions = document["conditions"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request("InvalidPolicyDocument", "Invalid Policy.") from None
    if timezone.now() >= expiration.replace(tzinfo=UTC):
        raise denied("Policy expired.")
    return conditions


def check_conditions(form, conditions):
    """The names of the fields the conditions cover, and the allowed length
    range; ``PolicyViolation`` if a condition fails."""
    covered = set()
    length_range = None
    for condition in conditions:
        if isinstance(condition, dict):  # {"name": value}
            ((name, expected),) = condition.items()
            operator = "eq"
        elif condition[0] == "content-length-range":
            length_range = (condition[1], condition[2])
            continue
        else:  # ["eq" | "starts-with", "$name", value]
            operator, name, expected = condition
            name = name.lstrip("$")
        name = name.lower()
        value = form.get(name)
        if value is None or not (
            value == expected if operator == "eq" else value.startswith(expected)
        ):
            raise denied("Policy Condition failed.")
        covered.add(name)
    return covered, length_range
