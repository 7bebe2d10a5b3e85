"""
The rules of direct uploads, once, for the API, the admin and commands.

    issue_ticket    checks the request, picks the key, signs a policy
    confirm_ticket  inspects the uploaded object, copies it to a final key,
                    attaches it, and deletes what it replaced after commit
    purge_expired   removes abandoned tickets and their objects

The server never receives image bytes: the client posts them to the store.
The store is never trusted with anything but the bytes: confirm reads the
object's header, and copies it to a key no policy covers, with headers chosen
here. Old objects are deleted only once the new attachment is committed.
"""

import base64
import binascii
import logging
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import events
from uploads.backends import get_backend
from uploads.backends.base import ObjectChanged, ObjectMissing
from uploads.conf import upload_settings
from uploads.errors import (
    REJECTIONS,
    InvalidRequest,
    NotFound,
    Rejected,
    SizeMismatch,
    StorageAccessDenied,
    StorageUnavailable,
    TicketExpired,
    TooManyTickets,
    UploadMissing,
)
from uploads.inspect import inspect_image
from uploads.models import UploadTicket
from uploads.policy import UploadPolicy
from uploads.storage import get_user_site_id, media_key, media_name_of, site_folder
from uploads.targets import CONTENT_TYPES, get_target

logger = logging.getLogger(__name__)
Status = UploadTicket.Status

# An upload replaced while it is being inspected is inspected again once.
INSPECTION_ATTEMPTS = 2


@dataclass(frozen=True)
class IssuedTicket:
    ticket: UploadTicket
    upload: dict  # {"url": ..., "fields": {...}}: the form to post


# --- Issue ------------------------------------------------------------------


def issue_ticket(user, *, kind, content_type, size, object_id=None, filename="", sha256=""):
    """A ticket to upload one image of ``size`` bytes to ``kind`` ``object_id``."""
    with events.recorded(
        "ticket",
        site=get_user_site_id(user),
        kind=kind,
        object_id=object_id,
        size=size,
        user=user.pk,
    ) as event:
        issued = create_ticket(
            user,
            kind=kind,
            content_type=content_type,
            size=size,
            object_id=object_id,
            filename=filename,
            sha256=sha256,
        )
        ticket = issued.ticket
        event.update(site=ticket.site_id, object_id=ticket.object_id, ticket=str(ticket.id))
        event["outcome"] = "issued"
        return issued


def create_ticket(user, *, kind, content_type, size, object_id, filename, sha256):
    try:
        target = get_target(kind)
    except LookupError:
        raise InvalidRequest(errors={"kind": [_("Unknown kind of upload.")]}) from None
    validate_upload(target, content_type, size, sha256)
    obj = target.get_object(user, object_id)
    enforce_open_ticket_limit(user)

    now = timezone.now()
    ticket_id = uuid.uuid4()
    site_id = target.get_site_id(obj)
    ticket = UploadTicket.objects.create(
        id=ticket_id,
        user=user,
        kind=kind,
        object_id=obj.pk,
        site_id=site_id,
        filename=display_filename(filename),
        content_type=content_type,
        size=size,
        sha256=sha256 or "",
        incoming_key=incoming_prefix(site_id, target.folder)
        + object_name(ticket_id.hex, content_type),
        created_at=now,
        expires_at=now + timedelta(seconds=upload_settings.TICKET_TTL),
    )
    return IssuedTicket(ticket, get_backend().presign_post(policy_for(ticket)))


def validate_upload(target, content_type, size, sha256):
    errors = {}
    if content_type not in target.content_types:
        errors["content_type"] = [
            _("Send a %(types)s image.") % {"types": ", ".join(target.content_types)}
        ]
    if size < 1:
        errors["size"] = [_("The file is empty.")]
    elif size > target.get_max_size():
        errors["size"] = [
            _("The file is %(size).1f MB; the limit is %(max).1f MB.")
            % {"size": size / 1e6, "max": target.get_max_size() / 1e6}
        ]
    if sha256 and not is_sha256_base64(sha256):
        errors["sha256"] = [_("Give the SHA-256 of the file, base64-encoded.")]
    if errors:
        raise InvalidRequest(errors=errors)


def is_sha256_base64(value):
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def enforce_open_ticket_limit(user):
    now = timezone.now()
    open_tickets = UploadTicket.objects.filter(user=user, status=Status.ISSUED, expires_at__gt=now)
    if open_tickets.count() >= upload_settings.MAX_OPEN_TICKETS:
        first_expiry = open_tickets.order_by("expires_at").values_list("expires_at", flat=True)[0]
        raise TooManyTickets(retry_after=max(1, int((first_expiry - now).total_seconds()) + 1))


def display_filename(filename):
    """The client's file name, for people only: it never reaches a key.
    Control and formatting characters (NUL, right-to-left override) go."""
    name = unicodedata.normalize("NFC", filename or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name.replace("\\", "/").rsplit("/", 1)[-1][:255]


def object_name(stem, content_type):
    return f"{stem}.{CONTENT_TYPES[content_type][1]}"


def object_key(site_id, folder, stem, content_type):
    return media_key(f"{site_folder(site_id, folder)}/{object_name(stem, content_type)}")


def incoming_prefix(site_id, folder):
    """Where uploads wait for their confirm: nothing else is ever stored
    there, so a bucket lifecycle rule may expire what stays."""
    return media_key(f"{site_folder(site_id, folder)}/incoming/")


def policy_for(ticket):
    return UploadPolicy(
        key=ticket.incoming_key,
        content_type=ticket.content_type,
        size=ticket.size,
        expires_at=ticket.expires_at,
        sha256=ticket.sha256,
    )


# --- Confirm ----------------------------------------------------------------


def get_ticket(user, ticket_id, *, lock=False):
    """One of ``user``'s own tickets; any other is not found."""
    tickets = UploadTicket.objects.select_for_update() if lock else UploadTicket.objects
    try:
        return tickets.get(pk=ticket_id, user=user)
    except (UploadTicket.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound() from None


def confirm_ticket(user, ticket_id):
    """Attach the object uploaded with a ticket; returns the response body.

    Idempotent: a confirmed ticket returns the body it returned first. The
    ticket row is locked for the duration, so concurrent confirms of one
    ticket attach once.
    """
    backend = get_backend()
    created = []  # keys written by this call, removed if it fails
    with events.recorded("confirm", ticket=str(ticket_id), user=user.pk) as event:
        try:
            with transaction.atomic():
                ticket = get_ticket(user, ticket_id, lock=True)
                event.update(
                    site=ticket.site_id,
                    kind=ticket.kind,
                    object_id=ticket.object_id,
                    size=ticket.size,
                )
                try:
                    result = confirm_locked(ticket, user, backend, created)
                except Rejected as rejection:
                    reject(ticket, rejection, backend)
                    error = rejection
                else:
                    event["outcome"] = "confirmed"
                    return result
            raise error
        except BaseException:
            for key in created:
                delete_quietly(backend, key)
            raise


def confirm_locked(ticket, user, backend, created):
    if ticket.status == Status.CONFIRMED:
        return ticket.result
    if ticket.status == Status.REJECTED:
        raise REJECTIONS[ticket.error_code]()
    now = timezone.now()
    if now >= ticket.expires_at + timedelta(seconds=upload_settings.CONFIRM_GRACE):
        raise TicketExpired()

    target = get_target(ticket.kind)
    # Access and site are checked before any storage I/O; the row itself is
    # locked only in attach(), for the short database write.
    obj = target.get_object(user, ticket.object_id)
    if target.get_site_id(obj) != ticket.site_id:
        raise NotFound()

    final_key = object_key(ticket.site_id, target.folder, uuid.uuid4().hex, ticket.content_type)
    # Listed before the copy: a copy that fails after the store did it
    # (a timeout, say) must not leave an orphan either.
    created.append(final_key)
    for attempt in range(INSPECTION_ATTEMPTS):
        try:
            info = backend.head(ticket.incoming_key)
        except ObjectMissing:
            if ticket.is_expired(now):
                raise TicketExpired() from None
            raise UploadMissing() from None
        try:
            image = inspect(ticket, target, backend, info)
            backend.copy(ticket.incoming_key, final_key, info.etag, ticket.content_type)
            break
        except (ObjectChanged, ObjectMissing):
            # Re-posted while we looked: look at the new object.
            if attempt == INSPECTION_ATTEMPTS - 1:
                raise UploadMissing(
                    _("The file changed while it was checked. Confirm again.")
                ) from None
    return attach(ticket, user, target, final_key, image, backend)


def inspect(ticket, target, backend, info):
    if info.size != ticket.size:
        raise SizeMismatch(
            _("%(actual)d bytes arrived; %(declared)d were declared.")
            % {"actual": info.size, "declared": ticket.size}
        )
    full = upload_settings.FULL_DECODE
    data = backend.read(
        ticket.incoming_key, info.etag, None if full else upload_settings.INSPECT_BYTES
    )
    return inspect_image(
        data,
        ticket.content_type,
        size=info.size,
        max_pixels=target.get_max_pixels(),
        max_side=target.get_max_side(),
        full_decode=full,
    )


def attach(ticket, user, target, final_key, image, backend):
    """Point the target's field at ``final_key``; the replaced object and
    the incoming one are deleted only after the commit."""
    obj = target.get_object(user, ticket.object_id, lock=True)
    old_name = getattr(obj, target.field_name).name
    new_name = media_name_of(final_key)
    setattr(obj, target.field_name, new_name)
    obj.save(update_fields=[target.field_name])

    ticket.status = Status.CONFIRMED
    ticket.final_key = final_key
    ticket.confirmed_at = timezone.now()
    ticket.result = {
        "id": str(ticket.id),
        "status": Status.CONFIRMED.value,
        "kind": ticket.kind,
        "object_id": ticket.object_id,
        "key": final_key,
        "url": default_storage.url(new_name),
        "format": image.format.lower(),
        "width": image.width,
        "height": image.height,
        "size": ticket.size,
    }
    ticket.save(update_fields=["status", "final_key", "confirmed_at", "result"])

    obsolete = [ticket.incoming_key]
    if old_name and old_name != new_name:
        obsolete.append(media_key(old_name))
    transaction.on_commit(lambda: [delete_quietly(backend, key) for key in obsolete])
    return ticket.result


def reject(ticket, rejection, backend):
    ticket.status = Status.REJECTED
    ticket.error_code = rejection.code
    ticket.save(update_fields=["status", "error_code"])
    incoming = ticket.incoming_key
    transaction.on_commit(lambda: delete_quietly(backend, incoming))


def delete_quietly(backend, key):
    """Deletion of an object nothing points to any more: a failure leaves an
    orphan for ``purge_uploads``, never an error for the user."""
    try:
        backend.delete(key)
    except Exception:
        logger.exception("Could not delete %s", key)


# --- Purge ------------------------------------------------------------------


@dataclass
class PurgeReport:
    tickets_deleted: int = 0
    objects_deleted: int = 0
    # Keys the store would not say anything about (403 to a HEAD), deleted
    # anyway: S3 deletes a missing key without complaint.
    unchecked: list = field(default_factory=list)
    # Keys that could not be deleted: their tickets are kept for the next run.
    failed: list = field(default_factory=list)  # [(key, StorageUnavailable)]


def purge_expired(*, dry_run=False, now=None):
    """Delete tickets that expired unconfirmed, with their objects, and the
    incoming objects left behind by confirmed tickets (a client may re-post
    to an incoming key until its policy expires). Idempotent.

    A ticket whose object the store refuses to delete stays, so that the
    next run tries again; the report lists it."""
    backend = get_backend()
    cutoff = (now or timezone.now()) - timedelta(seconds=upload_settings.CONFIRM_GRACE)
    report = PurgeReport()
    expired = UploadTicket.objects.filter(expires_at__lt=cutoff)
    with transaction.atomic():
        unconfirmed = expired.exclude(status=Status.CONFIRMED).select_for_update(skip_locked=True)
        for ticket in unconfirmed:
            if not purge_object(backend, ticket.incoming_key, dry_run, report):
                continue
            report.tickets_deleted += 1
            if not dry_run:
                ticket.delete()
        leftovers = expired.filter(status=Status.CONFIRMED, incoming_purged=False)
        for ticket in leftovers.select_for_update(skip_locked=True):
            if purge_object(backend, ticket.incoming_key, dry_run, report) and not dry_run:
                ticket.incoming_purged = True
                ticket.save(update_fields=["incoming_purged"])
    return report


def purge_object(backend, key, dry_run, report):
    """Delete whatever is at ``key``; whether the key is now clear."""
    try:
        exists = backend.exists(key)
    except StorageAccessDenied:
        # AWS answers 403, not 404, for a missing key when the credentials
        # lack s3:ListBucket: the key may hold an object or nothing.
        report.unchecked.append(key)
        exists = None
    except StorageUnavailable as error:
        report.failed.append((key, error))
        return False
    if exists is False:
        return True
    if not dry_run:
        try:
            backend.delete(key)
        except StorageUnavailable as error:
            report.failed.append((key, error))
            return False
    report.objects_deleted += bool(exists)
    return True
