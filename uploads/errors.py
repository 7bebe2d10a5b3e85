"""
Errors of the upload rules, each with the code and HTTP status the API
reports. ``services`` raises them; ``uploads.api.exceptions`` renders them
as ``{"code": ..., "detail": ...}``; the admin and commands show ``detail``.
"""

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _


class UploadError(Exception):
    code = "error"
    status = 400
    default_detail = _("The upload failed.")
    retry_after = None

    def __init__(self, detail=None, *, retry_after=None, errors=None):
        self.detail = detail if detail is not None else self.default_detail
        if retry_after is not None:
            self.retry_after = retry_after
        # Field errors, {"field": ["message", ...]}, for "invalid".
        self.errors = errors
        super().__init__(str(self.detail))


class InvalidRequest(UploadError):
    code = "invalid"
    status = 400
    default_detail = _("The request is not valid.")


class PermissionDenied(UploadError):
    code = "permission_denied"
    status = 403
    default_detail = _("You are not allowed to change this.")


class NotFound(UploadError):
    code = "not_found"
    status = 404
    default_detail = _("Not found.")


class UploadMissing(UploadError):
    """Confirm came before the object; the ticket stays usable."""

    code = "upload_missing"
    status = 409
    default_detail = _("The file has not arrived in storage yet. Upload it, then confirm again.")


class TicketExpired(UploadError):
    code = "ticket_expired"
    status = 410
    default_detail = _("This upload ticket has expired. Ask for a new one.")


class TooManyTickets(UploadError):
    code = "throttled"
    status = 429
    default_detail = _("Too many uploads in progress. Finish or wait for them, then try again.")


class StorageUnavailable(UploadError):
    """The store did not answer; the ticket stays usable."""

    code = "storage_unavailable"
    status = 503
    default_detail = _("Image storage is unavailable. Try again in a moment.")


class ConfirmInProgress(StorageUnavailable):
    """Another confirm of the same ticket is still at work (on a slow store,
    as a rule): clients retry as they do when the store is down, and get the
    same answer as that confirm."""

    default_detail = _("This upload is still being checked. Try again in a moment.")


class StorageAccessDenied(StorageUnavailable):
    """The store answered 403 to ``operation`` on ``key``: the credentials
    lack a permission, or (for a HEAD or GET on AWS without
    ``s3:ListBucket``) the key holds nothing. Clients see the same 503 as
    for a store that is down; commands tell the operator what to grant."""

    def __init__(self, operation, key, **kwargs):
        self.operation = operation
        self.key = key
        super().__init__(**kwargs)


class Rejected(UploadError):
    """The uploaded object is not acceptable: it is deleted and the ticket
    is rejected for good."""

    status = 422


class InvalidImage(Rejected):
    code = "invalid_image"
    default_detail = _("The file is not a JPEG, PNG or WebP image, or it is damaged.")


class TypeMismatch(Rejected):
    code = "type_mismatch"
    default_detail = _("The file's format does not match its declared type.")


class ImageTooLarge(Rejected):
    code = "image_too_large"
    default_detail = _("The image has too many pixels.")


class SizeMismatch(Rejected):
    code = "size_mismatch"
    default_detail = _("The uploaded file's size differs from the declared size.")


class TicketTampered(UploadError):
    """The ticket's row names an incoming key other than the one its site,
    target folder and id give, or holds what no ticket is issued or
    confirmed with (``services.is_sound``): the row was altered. The ticket
    is rejected for good and the key it names is left alone (it may be
    another site's object); nothing is read, copied or deleted."""

    code = "ticket_tampered"
    status = 422
    default_detail = _("This upload ticket is not valid. Ask for a new one.")


REJECTIONS = {
    cls.code: cls
    for cls in (InvalidImage, TypeMismatch, ImageTooLarge, SizeMismatch, TicketTampered)
}


def one_decimal(number):
    """``number`` rounded to one decimal, written the active language's way
    for a message (3,1 in French). ``number_format`` cuts the decimals
    rather than round them: it is given the rounded number."""
    return number_format(round(number, 1), 1)
