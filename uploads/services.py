"""
The rules of direct uploads, once, for the API, the admin and commands.

    issue_ticket    checks the request, picks the key, signs a policy
    confirm_ticket  inspects the uploaded object, copies it to a final key,
                    attaches it, and deletes what it replaced after commit
    prepare_confirm confirm in two steps, for a form that saves its object in
    attach_prepared a transaction of its own (the admin): the store I/O before
                    that transaction, the attachment inside it, and
    abandon_prepared the copy deleted after it if the save did not attach it
    remove_file     detaches an object's file (the admin's clear), deleted
                    after commit
    purge_expired   removes abandoned tickets and their objects, and retries
                    the deletes that failed

The server never receives image bytes: the client posts them to the store.
The store is never trusted with anything but the bytes: confirm reads the
object's header, and copies it to a key no policy covers, with headers chosen
here. No transaction is open while the store is asked anything. Old objects
are deleted only once the new attachment is committed, by way of a durable
record (``uploads.deletions``), so that a failed delete is retried, never
forgotten.
"""

import logging
import re
import time
import unicodedata
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import attachment, deletions, events, renditions, returning, tasks
from uploads.backends import get_backend
from uploads.backends.base import ObjectChanged, ObjectMissing
from uploads.conf import upload_settings
from uploads.errors import (
    REJECTIONS,
    ConfirmInProgress,
    InvalidRequest,
    NotFound,
    Rejected,
    SizeMismatch,
    StorageAccessDenied,
    StorageUnavailable,
    TicketExpired,
    TicketTampered,
    TooManyTickets,
    UploadMissing,
    one_decimal,
)
from uploads.inspect import inspect_image, jpeg_header, png_header, sniff_format
from uploads.keys import (
    incoming_key,
    incoming_key_of,
    is_object_key,
    media_name_of,
    object_key,
)
from uploads.models import PendingDeletion, UploadTicket
from uploads.policy import UploadPolicy
from uploads.sites import get_user_site_id
from uploads.statements import column_of, written_once
from uploads.targets import CONTENT_TYPES, get_target

logger = logging.getLogger(__name__)
Status = UploadTicket.Status
Reason = PendingDeletion.Reason

# An upload replaced while it is being inspected is inspected again once.
INSPECTION_ATTEMPTS = 2
# What reads an image's header past its first bytes, by format.
HEADER_READERS = {"JPEG": jpeg_header, "PNG": png_header}


@dataclass(frozen=True)
class IssuedTicket:
    ticket: UploadTicket
    upload: dict  # {"url": ..., "fields": {...}}: the form to post


# --- Issue ------------------------------------------------------------------


def issue_ticket(
    user,
    *,
    kind,
    content_type,
    size,
    object_id=None,
    filename="",
    sha256="",
    new=False,
    site_id=None,
):
    """A ticket to upload one image of ``size`` bytes to ``kind`` ``object_id``.

    With ``new``, for an object not created yet (a photo picked on an add
    form): the ticket names no object, its key is in the folder of the site
    the user acts for, and only the save that creates the object confirms it
    (``prepare_confirm`` with ``object_id=None``, then ``attach_prepared``),
    binding it to that object, of that site, once. The site the user acts
    for is ``site_id``, the request's (``uploads.sites.get_request_site_id``:
    a superuser's choice), else the user's own; the target refuses one the
    user may not create objects of."""
    if site_id is None:
        site_id = get_user_site_id(user)
    with events.recorded(
        "ticket",
        site=site_id,
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
            new=new,
            site_id=site_id,
        )
        ticket = issued.ticket
        event.update(site=ticket.site_id, object_id=ticket.object_id, ticket=str(ticket.id))
        event["outcome"] = "issued"
        return issued


def create_ticket(
    user, *, kind, content_type, size, object_id, filename, sha256, new=False, site_id=None
):
    try:
        target = get_target(kind)
    except LookupError:
        raise InvalidRequest(errors={"kind": [_("Unknown kind of upload.")]}) from None
    validate_upload(target, content_type, size, sha256)
    if new:
        if object_id is not None:
            raise InvalidRequest(errors={"object_id": [_("A new object has no id yet.")]})
        site_id = new_object_site_id(user, target, site_id)
    else:
        obj = target.get_object(user, object_id)
        object_id = obj.pk
        site_id = target.get_site_id(obj)

    now = timezone.now()
    ticket_id = uuid.uuid4()
    ticket = UploadTicket(
        id=ticket_id,
        user=user,
        kind=kind,
        object_id=object_id,
        site_id=site_id,
        filename=display_filename(filename),
        content_type=content_type,
        size=size,
        sha256=sha256 or "",
        incoming_key=incoming_key(site_id, target.folder, ticket_id, content_type),
        created_at=now,
        expires_at=now + timedelta(seconds=upload_settings.TICKET_TTL),
    )
    if not insert_within_limit(ticket, upload_settings.MAX_OPEN_TICKETS, now):
        raise too_many_tickets(user, now)
    return IssuedTicket(ticket, get_backend().presign_post(policy_for(ticket)))


def new_object_site_id(user, target, site_id):
    """The site of an object ``user`` creates with its file for the site
    ``site_id``, which the target refuses if the user may not create
    objects there. None would be the shared folder, which no object of a
    site may use: the user picks a site first."""
    site_id = target.get_new_object_site_id(user, site_id)
    if site_id is None:
        raise NotFound(_("Pick a site first."))
    return site_id


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
            _("The file is %(size)s MB; the limit is %(max)s MB.")
            % {"size": one_decimal(size / 1e6), "max": one_decimal(target.get_max_size() / 1e6)}
        ]
    if sha256 and not is_sha256_base64(sha256):
        errors["sha256"] = [_("Give the SHA-256 of the file, base64-encoded.")]
    if errors:
        raise InvalidRequest(errors=errors)


#: The only ``sha256`` a ticket takes: a SHA-256 digest (32 bytes) in
#: base64, 43 characters and one ``=`` of padding; the API's schema
#: documents it as the field's pattern.
SHA256_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=")


def is_sha256_base64(value):
    return SHA256_BASE64.fullmatch(value) is not None


# What makes a ticket open: its user's, issued, not expired.
OPEN_TICKET_COLUMNS = ("user", "status", "expires_at")
# PostgreSQL's count of them, one request of a user at a time (uploads.0010).
OPEN_TICKETS_FUNCTION = "uploads_open_tickets"
EXPIRES_AT = UploadTicket._meta.get_field("expires_at")
CLAIMED_UNTIL = UploadTicket._meta.get_field("claimed_until")


def open_tickets(user_id, now):
    return UploadTicket.objects.filter(user_id=user_id, status=Status.ISSUED, expires_at__gt=now)


def insert_within_limit(ticket, limit, now):
    """Insert ``ticket`` unless its user already holds ``limit`` open
    tickets (``open_tickets``); whether it was inserted. The count and the
    insert are one statement (INSERT ... SELECT ... WHERE), one round trip
    rather than two on every ticket, written out rather than compiled by the
    ORM each time. The count holds for requests sent at once
    (``write_open_ticket_count``). Columns left None are omitted (NULL): a
    bare NULL in a SELECT list is text to PostgreSQL."""
    connection = connections[router.db_for_write(UploadTicket)]
    with connection.cursor() as cursor:
        cursor.execute(*insert_within_limit_statement(connection, ticket, limit, now))
        inserted = cursor.rowcount == 1
    if inserted:
        ticket._state.adding = False
        ticket._state.db = connection.alias
    return inserted


def insert_within_limit_statement(connection, ticket, limit, now):
    """The SQL and parameters of ``insert_within_limit``."""
    fields = tuple(
        f for f in UploadTicket._meta.concrete_fields if getattr(ticket, f.attname) is not None
    )
    values = [f.get_db_prep_save(getattr(ticket, f.attname), connection) for f in fields]
    after = EXPIRES_AT.get_db_prep_value(now, connection)
    params = [*values, ticket.user_id, Status.ISSUED.value, after, limit]
    return insert_within_limit_sql(connection, fields), params


def insert_within_limit_sql(connection, fields):
    """The statement of ``insert_within_limit`` for ``fields``, written
    once per kind of database and set of columns rather than at each
    ticket (``uploads.statements``): a ticket costs little enough CPU that
    writing it showed."""
    return written_once(connection, "ticket", write_insert_within_limit, fields)


def write_insert_within_limit(connection, fields):
    quote = connection.ops.quote_name
    meta = UploadTicket._meta
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
        f" SELECT {', '.join(['%s'] * len(fields))}"
        f" WHERE {write_open_ticket_count(connection)} < %s"
    )


def write_open_ticket_count(connection):
    """The count of a user's open tickets, of the user, status and time
    given as parameters. On PostgreSQL, through the function of migration
    ``uploads.0010``, which locks the user first: a plain count in the
    statement would see only the tickets committed when it began, and
    requests sent at once would each find room for one more."""
    if connection.vendor == "postgresql":
        return f"{OPEN_TICKETS_FUNCTION}(%s, %s, %s)"
    quote = connection.ops.quote_name
    user, status, expires = map(column_of(UploadTicket, quote), OPEN_TICKET_COLUMNS)
    return (
        f"(SELECT COUNT(*) FROM {quote(UploadTicket._meta.db_table)}"
        f" WHERE {user} = %s AND {status} = %s AND {expires} > %s)"
    )


def too_many_tickets(user, now):
    """The refusal of one ticket too many: retry once the first open one expires."""
    expiries = (
        open_tickets(user.pk, now).order_by("expires_at").values_list("expires_at", flat=True)
    )
    first_expiry = expiries.first() or now
    return TooManyTickets(retry_after=max(1, int((first_expiry - now).total_seconds()) + 1))


def display_filename(filename):
    """The client's file name, for people only: it never reaches a key.
    Control and formatting characters (NUL, right-to-left override) go."""
    name = unicodedata.normalize("NFC", filename or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name.replace("\\", "/").rsplit("/", 1)[-1][:255]


def policy_for(ticket):
    return UploadPolicy(
        key=ticket.incoming_key,
        content_type=ticket.content_type,
        size=ticket.size,
        expires_at=ticket.expires_at,
        sha256=ticket.sha256,
    )


# --- Confirm ----------------------------------------------------------------


def get_ticket(user, ticket_id):
    """One of ``user``'s own tickets; any other is not found."""
    if user is None or user.pk is None:
        # ``user=None`` is ``user IS NULL``: the tickets of deleted users.
        raise NotFound()
    try:
        ticket = UploadTicket.objects.get(pk=ticket_id, user=user)
    except (UploadTicket.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound() from None
    if not is_sound(ticket):
        logger.error("Ticket %s holds what no ticket is written with: refused", ticket.pk)
        raise TicketTampered()
    return ticket


def is_sound(ticket):
    """Whether ``ticket``'s row holds only what issue and confirm write: a
    declared kind, a content type of an upload target, a status that is
    stored (``expired`` is read, never stored), a rejection's code, and,
    once confirmed, a copy in the ticket's site folder (``is_object_key``).

    A row altered otherwise (by hand, by SQL injection, or left with a
    kind since removed) is no ticket to read or confirm: confirm failed on
    it with a 500, spun for good on a status it never claims (``expired``),
    and the ticket's answers signed a URL to whatever key the row named,
    another site's image among them. The incoming key is checked where the
    ticket is claimed, which rejects it for good (``refuse_tampered``)."""
    try:
        folder = get_target(ticket.kind).folder
    except LookupError:
        return False
    if ticket.content_type not in CONTENT_TYPES:
        return False
    if ticket.status == Status.REJECTED:
        return ticket.error_code in REJECTIONS
    if ticket.status == Status.CONFIRMED:
        return is_object_key(ticket.final_key, ticket.site_id, folder, ticket.content_type)
    return ticket.status == Status.ISSUED


def confirm_ticket(user, ticket_id):
    """Attach the object uploaded with a ticket; returns the confirmed
    ticket (its ``final_key``, ``format``, ``width`` and ``height``).

    No transaction is open and no row locked while the store is asked
    anything, so that a slow store holds up this request only: one
    conditional UPDATE claims the ticket, the object is inspected and copied with
    no transaction open, then the target's row is locked and the copy
    attached, in one statement or a short transaction (``attach``), or the
    ticket rejected.

    Idempotent: a confirmed ticket is returned as it was confirmed first.
    Concurrent confirms of one ticket attach once: the first claims it, the
    others wait for its answer.
    """
    backend = get_backend()
    with events.recorded("confirm", ticket=str(ticket_id), user=user.pk) as event:
        ticket = claim_fresh(user, ticket_id, event) or claim_ticket(user, ticket_id, event)
        if ticket.status != Status.CONFIRMED:
            ticket = confirm_claimed(ticket, user, backend)
        event["outcome"] = "confirmed"
        return ticket


@dataclass(frozen=True)
class PreparedUpload:
    """A ticket claimed, its upload inspected and copied to its final key:
    what is left is the attachment (``attach_prepared``), then giving it
    up if that did not happen (``abandon_prepared``)."""

    ticket: UploadTicket
    image: object  # uploads.inspect's answer: format, width, height


def prepare_confirm(user, ticket_id, *, kind, object_id):
    """Confirm's store I/O, for a caller that attaches in a transaction of
    its own: the admin saves the object and attaches its image at once, in
    the transaction Django's admin opens for the save. Call it before that
    transaction begins, as confirm never talks to the store with one open.

    The ticket must be ``user``'s, for ``kind`` and ``object_id`` (``None``:
    a ticket issued for a new object); any other is not found. Returns a
    ``PreparedUpload``, or ``None`` when the ticket is already confirmed
    (there is nothing left to attach). Raises the confirm's errors; a
    rejection is final, as with ``confirm_ticket``.
    """
    backend = get_backend()
    with events.recorded("confirm", ticket=str(ticket_id), user=user.pk) as event:
        ticket = claim_ticket(user, ticket_id, event, bound_to=(kind, object_id))
        prepared = None
        if ticket.status != Status.CONFIRMED:
            target = get_target(ticket.kind)
            try:
                prepared = PreparedUpload(ticket, inspect_and_copy(ticket, target, backend))
            except Rejected as rejection:
                reject(ticket, rejection)  # raises, unless another confirm took over
        event["outcome"] = "prepared" if prepared else "confirmed"
        return prepared


def attach_prepared(prepared, user, obj):
    """Attach a prepared upload to ``obj``, in the caller's transaction (the
    ticket's and the object's rows are locked until it ends; the replaced
    and uploaded objects are deleted after it commits). A ticket issued for
    a new object is bound to ``obj`` here, if ``obj`` is of the ticket's
    site. Returns the confirmed ticket. If the claim was lost (it lapsed and
    another confirm took over), answers as that confirm did."""
    ticket = prepared.ticket
    target = get_target(ticket.kind)
    if ticket.object_id is None:
        if target.get_site_id(obj) != ticket.site_id:
            raise NotFound(_("This image was uploaded for another site."))
        if not mark_confirmed(ticket, prepared.image, object_id=obj.pk):
            return answer_of(relock(ticket))
        # Created in this transaction by this user, who may add it (checked
        # at issue and claim), whether or not they may change it later.
        created = target.model._default_manager.select_for_update().get(pk=obj.pk)
        return attach_locked(ticket, user, target, obj=created)
    if ticket.object_id != obj.pk:
        raise NotFound()
    if not mark_confirmed(ticket, prepared.image):
        return answer_of(relock(ticket))
    return attach_locked(ticket, user, target)


def abandon_prepared(prepared):
    """Give up a prepared upload, unless the save attached it: call it with
    no transaction open once the save's transaction has ended, whatever
    its outcome. If the ticket's row does not show the upload attached
    (the form had errors, or the save failed), its copy is deleted and the
    ticket stays usable, for the next save; if the row cannot be read, the
    copy stays, as confirm leaves it (``attach``)."""
    settled = ticket_after_error(prepared.ticket)
    if settled is UNREADABLE or attached_by(settled, prepared.ticket):
        return
    discard(prepared.ticket, get_backend())


def remove_file(obj, *, kind, site_id=None):
    """Detach ``obj``'s file of upload ``kind``, in the caller's transaction;
    the object is deleted once it commits, as a replaced one is, if it is in
    the folder of ``obj``'s site (``site_id``: the site ``obj`` was of, for
    a caller that has moved it since) and no other row names it then.

    The image and its renditions are recorded, and the delete, after the
    commit, asks whether a row names them and forgets their set (as for an
    object deleted): asked here, two rows naming one image cleared at once
    each saw the other's row as it was, and neither recorded it."""
    target = get_target(kind)
    name = getattr(obj, target.field_name).name
    if name:
        setattr(obj, target.field_name, "")
        obj.save(update_fields=[target.field_name])
        if site_id is None:
            site_id = target.get_site_id(obj)
        deletions.schedule(renditions.own_image_keys(name, site_id, kind, Reason.REPLACED))


def claim_fresh(user, ticket_id, event):
    """The common case in one statement: ``user``'s ticket for an existing
    object, issued, unexpired and never claimed, read and claimed by one
    conditional UPDATE ... RETURNING; ``None`` for any other (or on a
    database without RETURNING), which ``claim_ticket`` looks at and
    explains. The binding (that ``user`` may still change the object, of
    the ticket's site) is checked when the attachment reads the object's
    row (``attach_at_once``, or ``attach_locked`` on the locked row): a
    ticket that fails it is answered as ``claim_ticket`` would, its copy
    deleted and its claim given up."""
    try:
        ticket_id = uuid.UUID(str(ticket_id))
    except ValueError:
        return None  # not a ticket id: claim_ticket answers
    connection = connections[router.db_for_write(UploadTicket)]
    if not returning.supported_by(connection):
        return None
    # The final key is the incoming one with "incoming/<ticket id>" replaced
    # by a new random stem: object_key() of the row's site, folder and type,
    # which are not known before it is read (checked below).
    stem = uuid.uuid4().hex
    now = timezone.now()
    after = now - timedelta(seconds=upload_settings.CONFIRM_GRACE)
    claimed_until = now + timedelta(seconds=upload_settings.CONFIRM_LEASE)
    params = [
        f"incoming/{ticket_id.hex}",
        stem,
        CLAIMED_UNTIL.get_db_prep_value(claimed_until, connection),
        UploadTicket._meta.pk.get_db_prep_value(ticket_id, connection),
        user.pk,
        Status.ISSUED.value,
        "",
        EXPIRES_AT.get_db_prep_value(after, connection),
    ]
    sql = written_once(connection, "claim", write_claim)
    (ticket,) = returning.instances_returned(connection, UploadTicket, sql, params) or (None,)
    if ticket is None:
        return None
    event.update(
        site=ticket.site_id, kind=ticket.kind, object_id=ticket.object_id, size=ticket.size
    )
    if (
        not is_sound(ticket)
        or ticket.incoming_key != incoming_key_of(ticket)
        or ticket.final_key
        != object_key(ticket.site_id, get_target(ticket.kind).folder, stem, ticket.content_type)
    ):
        refuse_tampered(ticket)
        raise TicketTampered()
    return ticket


def write_claim(connection):
    """``claim_fresh``'s statement: what the ORM would send for

        UploadTicket.objects.filter(
            pk=ticket_id, user=user, status=Status.ISSUED, final_key="",
            object_id__isnull=False, expires_at__gt=now - CONFIRM_GRACE,
        ).update(
            final_key=Replace(F("incoming_key"), Value(...), Value(stem)),
            claimed_until=now + CONFIRM_LEASE,
        )

    returning the rows (``uploads.returning``); written once per process,
    since building and compiling it took a tenth of a confirm's CPU."""
    quote = connection.ops.quote_name
    column = column_of(UploadTicket, quote)
    return (
        f"UPDATE {quote(UploadTicket._meta.db_table)}"
        f" SET {column('final_key')} = REPLACE({column('incoming_key')}, %s, %s),"
        f" {column('claimed_until')} = %s"
        f" WHERE {column('id')} = %s AND {column('user')} = %s AND {column('status')} = %s"
        f" AND {column('final_key')} = %s AND {column('object_id')} IS NOT NULL"
        f" AND {column('expires_at')} > %s"
        f" {returning.returning_clause(connection, UploadTicket._meta.concrete_fields)}"
    )


def claim_ticket(user, ticket_id, event, *, bound_to=None):
    """The ticket, already confirmed or now claimed by this confirm.

    Ticket, access and expiry are checked before any store I/O.
    ``bound_to`` is the ``(kind, object_id)`` a caller expects the ticket
    for (``prepare_confirm``); without it, a ticket for a new object is
    refused, as it can be bound to no object here. The claim
    is the final key this confirm will copy to, held until ``claimed_until``
    (``CONFIRM_LEASE``); while another confirm holds one, this one waits up
    to ``CONFIRM_WAIT`` seconds for its answer, with no transaction open.
    """
    deadline = time.monotonic() + upload_settings.CONFIRM_WAIT
    pause = 0.05
    while True:
        ticket = get_ticket(user, ticket_id)
        event.update(
            site=ticket.site_id, kind=ticket.kind, object_id=ticket.object_id, size=ticket.size
        )
        if bound_to is not None and bound_to != (ticket.kind, ticket.object_id):
            # Confirmed or not: a new object's ticket binds one object.
            raise NotFound()
        if ticket.status == Status.CONFIRMED:
            return ticket
        if ticket.status == Status.REJECTED:
            raise REJECTIONS[ticket.error_code]()
        now = timezone.now()
        if now >= ticket.expires_at + timedelta(seconds=upload_settings.CONFIRM_GRACE):
            raise TicketExpired()
        target = get_target(ticket.kind)
        check_binding(user, ticket, target, bound_to)
        if ticket.incoming_key != incoming_key_of(ticket):
            refuse_tampered(ticket)
            raise TicketTampered()
        if not ticket.is_claimed(now):
            if take_claim(ticket, target, now):
                return ticket
            continue  # another confirm changed the row meanwhile: look again
        if time.monotonic() >= deadline:
            raise ConfirmInProgress(retry_after=upload_settings.RETRY_AFTER)
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def take_claim(ticket, target, now):
    """Claim the ticket with a new final key, if its row is still as read:
    issued, with the same final key (none, or one whose claim lapsed). One
    conditional UPDATE rather than a locked read and a save in a transaction;
    whether it won. A lapsed claim's copy (its confirm died, or will find
    that it lost the claim) is recorded for deletion with the new claim."""
    lapsed = ticket.final_key
    final_key = object_key(ticket.site_id, target.folder, uuid.uuid4().hex, ticket.content_type)
    claimed_until = now + timedelta(seconds=upload_settings.CONFIRM_LEASE)
    with transaction.atomic() if lapsed else nullcontext():
        won = UploadTicket.objects.filter(
            pk=ticket.pk, status=Status.ISSUED, final_key=lapsed
        ).update(final_key=final_key, claimed_until=claimed_until)
        if won and lapsed and claimed_copy_key(ticket):
            deletions.schedule({lapsed: Reason.UNATTACHED})
    if won:
        ticket.final_key, ticket.claimed_until = final_key, claimed_until
    return bool(won)


def claimed_copy_key(ticket):
    """The copy a claim names (``final_key``), if the row holds a key that
    confirm could have chosen for it (``keys.is_object_key``); otherwise
    ``None``, logged: a key in our own table is not trusted, and one that
    is not the ticket's to delete may be another site's object."""
    key = ticket.final_key
    try:
        folder = get_target(ticket.kind).folder
    except LookupError:  # a kind no longer declared: nothing to check against
        folder = None
    if folder is not None and is_object_key(key, ticket.site_id, folder, ticket.content_type):
        return key
    logger.error("Ticket %s names copy %r: left alone", ticket.pk, key)
    return None


def check_binding(user, ticket, target, bound_to):
    """That ``user`` may still attach the ticket to what it was issued for:
    an object of its site that the user may change, or a new object of its
    site, which the user may still create objects of (whichever site the
    user acts for now: the object's site is checked against the ticket's)."""
    if ticket.object_id is None:
        if bound_to is None:
            raise NotFound(_("This upload is attached by saving the new object's form."))
        if new_object_site_id(user, target, ticket.site_id) != ticket.site_id:
            raise NotFound()
        return
    bound_object(user, ticket, target)


def bound_object(user, ticket, target, *, lock=False):
    """The object an existing object's ``ticket`` was issued for, if
    ``user`` may still change it and it is still of the ticket's site;
    otherwise ``NotFound`` or ``PermissionDenied``."""
    obj = target.get_object(user, ticket.object_id, lock=lock)
    require_ticket_site(target, obj, ticket)
    return obj


def require_ticket_site(target, obj, ticket):
    """``NotFound`` unless ``obj`` is still of the site ``ticket`` was
    issued for (and its key names)."""
    if target.get_site_id(obj) != ticket.site_id:
        raise NotFound()


def refuse_tampered(ticket):
    """Reject, for good, a ticket whose row names a key it was not issued
    for, or holds what no ticket is issued with (``is_sound``). The key
    named is not deleted: it may be another site's object."""
    logger.error(
        "Ticket %s names incoming key %r, not %r: refused",
        ticket.pk,
        ticket.incoming_key,
        # None for a row that derives no key (``is_sound``).
        incoming_key_of(ticket) if is_sound(ticket) else None,
    )
    ticket.status = Status.REJECTED
    ticket.error_code = TicketTampered.code
    ticket.final_key = ""
    ticket.claimed_until = None
    ticket.save(update_fields=["status", "error_code", "final_key", "claimed_until"])


def confirm_claimed(ticket, user, backend):
    """Inspect and copy with no transaction open, then attach."""
    target = get_target(ticket.kind)
    try:
        image = inspect_and_copy(ticket, target, backend)
    except Rejected as rejection:
        return reject(ticket, rejection)
    return attach(ticket, user, target, image, backend)


def inspect_and_copy(ticket, target, backend):
    """The claimed ticket's upload, inspected and copied to its final key;
    returns what inspection found. A rejection is left to the caller; on any
    other error the claim is given up."""
    copying = False  # whether the final key may hold a copy
    try:
        for attempt in range(INSPECTION_ATTEMPTS):
            info, head = read_upload(ticket, backend)
            try:
                image = inspect(ticket, target, backend, info, head)
                copying = True
                with events.waiting("store_ms"):
                    backend.copy(
                        ticket.incoming_key, ticket.final_key, info.etag, ticket.content_type
                    )
                return image
            except (ObjectChanged, ObjectMissing):
                # Re-posted while we looked (the copy is conditional on the
                # inspected ETag: nothing was written): look at the new object.
                copying = False
                if attempt == INSPECTION_ATTEMPTS - 1:
                    raise UploadMissing(
                        _("The file changed while it was checked. Confirm again.")
                    ) from None
    except Rejected:
        raise
    except BaseException as error:
        # Nothing was written, unless the copy failed in a way that leaves
        # it unknown (the store made it, then its answer timed out): such a
        # copy is recorded for deletion, never waited for here. A refusal
        # (403) wrote nothing.
        unknown = copying and not isinstance(error, StorageAccessDenied)
        release(ticket, orphan=ticket.final_key if unknown else None)
        raise


def read_upload(ticket, backend):
    """The upload's ``ObjectInfo`` and first bytes, in one store request:
    the ETag the inspection and the copy are pinned to is that of these
    bytes."""
    try:
        with events.waiting("store_ms"):
            return backend.read_first(ticket.incoming_key, upload_settings.INSPECT_BYTES)
    except ObjectMissing:
        if ticket.is_expired():
            raise TicketExpired() from None
        raise UploadMissing() from None


def inspect(ticket, target, backend, info, data):
    """``data`` are the upload's first bytes; with ``FULL_DECODE``, the rest
    is read once its size is checked."""
    if info.size != ticket.size:
        raise SizeMismatch(
            _("%(actual)d bytes arrived; %(declared)d were declared.")
            % {"actual": info.size, "declared": ticket.size}
        )

    def read(start, length=None):
        with events.waiting("store_ms"):
            return backend.read(ticket.incoming_key, info.etag, length, start)

    full = upload_settings.FULL_DECODE
    header_reader = HEADER_READERS.get(sniff_format(data))
    if full and len(data) < info.size:
        data += read(len(data))
    elif len(data) < info.size and header_reader is not None:
        # Metadata may push the frame header (or a PNG's image data) past
        # the first bytes: follow the segments or chunks with a few ranged
        # reads (bounded: see jpeg_header).
        data = header_reader(data, read, info.size)
    return inspect_image(
        data,
        ticket.content_type,
        size=info.size,
        max_pixels=target.get_max_pixels(),
        max_side=target.get_max_side(),
        full_decode=full,
    )


def attach(ticket, user, target, image, backend):
    """Point the target's field at the copy and confirm the ticket, if this
    confirm still holds its claim; otherwise answer as the confirm that
    took it over. In one statement where the database can
    (``attach_at_once``), else in a short transaction that confirms the
    ticket's row (locking it) and locks the target's row. After an error
    the copy is deleted only once the ticket's row shows that it was not
    attached: the error may have come after the attachment committed."""
    try:
        attached = attach_at_once(ticket, user, target, image)
        if attached:
            return ticket
        with transaction.atomic():
            if attached is None and mark_confirmed(ticket, image):
                return attach_locked(ticket, user, target)
            # Locked: the confirm that took the claim over may be
            # committing its attachment; its answer is awaited.
            current = relock(ticket)
    except BaseException as error:
        settled = ticket_after_error(ticket)
        if settled is UNREADABLE:
            # The attachment may have committed and its answer been lost:
            # the copy stays. Had it not committed, the claim lapses, and
            # the confirm that takes it over, or purge_uploads once the
            # ticket expires, deletes the copy it names.
            raise
        if attached_by(settled, ticket):
            logger.warning("Ticket %s was attached, though its answer failed", ticket.pk)
            # Its records are committed (purge_uploads deletes them); its
            # one task is not queued: the new image's renditions are.
            queue_after_attach(media_name_of(ticket.final_key), [], target.kind)
            if not isinstance(error, Exception):
                raise  # an interrupt still stops the request (the copy is kept)
            return settled
        discard(ticket, backend)
        raise
    discard(ticket, backend)
    return answer_of(current)


# ticket_after_error()'s answer when the database cannot tell.
UNREADABLE = object()


def ticket_after_error(ticket):
    """The ticket's row as it is after an error while attaching, or after
    a save that may have attached it (``None``: purged); or ``UNREADABLE``:
    an error on the connection may have come after the attachment
    committed, with its answer lost, so the copy must not be deleted
    before the row says it was not attached.

    The row is read locked, where the database locks rows: the server may
    still be running the attachment the client gave up on (waiting on a row
    lock, it notices a client gone only when it answers), and it holds the
    ticket's row until it commits or rolls back. Read without the lock, the
    row would still look issued, and the copy be deleted under a product
    that then points at it."""
    connection = connections[router.db_for_write(UploadTicket)]
    locking = connection.features.has_select_for_update
    try:
        if not connection.in_atomic_block:
            # A connection the error left broken is replaced.
            connection.close_if_unusable_or_obsolete()
        with transaction.atomic(using=connection.alias) if locking else nullcontext():
            return relock(ticket)
    except DatabaseError:
        return UNREADABLE


def attached_by(current, ticket):
    """Whether ``current``, the ticket's row, was confirmed with this
    confirm's copy."""
    return (
        current is not None
        and current.status == Status.CONFIRMED
        and current.final_key == ticket.final_key
    )


def attach_at_once(ticket, user, target, image):
    """``attach`` in one statement (``uploads.attachment``): the target's
    row is read, its binding checked (``user`` may change it, and it is of
    the ticket's site), and the statement attaches if the row is still as
    read and this confirm still holds its claim. True once attached; False
    if the claim was lost; None where the database cannot, or if the row
    changed since it was read (the transaction's locks then decide)."""
    if not attachment.supported(target):
        return None
    obj = bound_object(user, ticket, target)
    old_name = getattr(obj, target.field_name).name or ""
    new_name = media_name_of(ticket.final_key)
    unused = unused_after(ticket, target, old_name, new_name)
    changes = confirmation(image)
    claimed, current = attachment.attach(ticket, changes, target, obj, old_name, new_name, unused)
    if not (claimed and current):
        return None if claimed else False
    for name, value in changes.items():
        setattr(ticket, name, value)
    queue_after_attach(new_name, list(unused), target.kind)
    return True


def confirmation(image, *, object_id=None):
    """The ticket's fields a confirmation sets, ``{name: value}``."""
    changes = {
        "status": Status.CONFIRMED,
        "confirmed_at": timezone.now(),
        "claimed_until": None,
        "format": image.format.lower(),
        "width": image.width,
        "height": image.height,
    }
    if object_id is not None:
        changes["object_id"] = object_id
    return changes


def mark_confirmed(ticket, image, *, object_id=None):
    """Confirm the ticket's row if this confirm still holds its claim (the
    row is issued and names this confirm's final key): one UPDATE, which
    locks the row, rather than a locking read and a write. Whether it did.
    ``object_id``: the object a new object's ticket is bound to, for good."""
    changes = confirmation(image, object_id=object_id)
    connection = connections[router.db_for_write(UploadTicket)]
    fields = tuple(UploadTicket._meta.get_field(name) for name in changes)
    params = [
        *(
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, changes.values(), strict=True)
        ),
        UploadTicket._meta.pk.get_db_prep_value(ticket.pk, connection),
        Status.ISSUED.value,
        ticket.final_key,
    ]
    with connection.cursor() as cursor:
        cursor.execute(written_once(connection, "confirm", write_mark_confirmed, fields), params)
        if cursor.rowcount != 1:
            return False
    for name, value in changes.items():
        setattr(ticket, name, value)
    return True


def write_mark_confirmed(connection, fields):
    """``mark_confirmed``'s statement, with its ``fields`` to set: what
    ``UploadTicket.objects.filter(pk=..., status=Status.ISSUED,
    final_key=...).update(...)`` sends, written once per process."""
    quote = connection.ops.quote_name
    column = column_of(UploadTicket, quote)
    changes = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return (
        f"UPDATE {quote(UploadTicket._meta.db_table)} SET {changes}"
        f" WHERE {column('id')} = %s AND {column('status')} = %s AND {column('final_key')} = %s"
    )


def attach_locked(ticket, user, target, obj=None):
    """Point the target's field at the copy of ``ticket``, which this
    transaction has confirmed (``mark_confirmed``), on the object's locked
    row (``obj``: the row, already locked). The replaced object (with its
    renditions) and the uploaded one are recorded for deletion in this
    transaction and deleted after it commits; the rendition sets of both
    images are left to the task, which makes the new one's renditions once
    it commits.

    The binding is checked here, on the locked row: that ``user`` may
    change the object, and that it is of the ticket's site (a refusal rolls
    the transaction back, and the caller deletes the copy)."""
    if obj is None:
        obj = bound_object(user, ticket, target, lock=True)
    else:
        require_ticket_site(target, obj, ticket)
    old_name = getattr(obj, target.field_name).name
    new_name = media_name_of(ticket.final_key)
    setattr(obj, target.field_name, new_name)
    # An UPDATE, as attach_at_once's statement: no save(), no save signals;
    # through the base manager, as save() updates.
    target.model._base_manager.filter(pk=obj.pk).update(**{target.field_name: new_name})
    unused = unused_after(ticket, target, old_name, new_name)
    queue_after_attach(new_name, deletions.record(unused), target.kind)
    return ticket


def unused_after(ticket, target, old_name, new_name):
    """What attaching ``new_name`` in place of ``old_name`` leaves unused,
    ``{key: reason}``: the objects to record for deletion."""
    # Derived, not read from the row: only that key is ours.
    unused = {incoming_key_of(ticket): Reason.UPLOADED}
    # From its name (another's file, maybe another site's, leaves none):
    # its set is forgotten by the task once it is deleted (any rendition
    # named otherwise is recorded then), or by purge_uploads.
    if old_name != new_name:
        unused.update(
            renditions.own_image_keys(old_name, ticket.site_id, target.kind, Reason.REPLACED)
        )
    return unused


def queue_after_attach(new_name, keys, kind):
    """One task, queued once the attachment commits
    (``uploads.tasks.image_attached``): the deletes of the recorded
    ``keys``, the sets (the replaced one's forgotten, the new one's made:
    none is written on the request path, issue 17) and the renditions."""
    transaction.on_commit(partial(tasks.after_attach, new_name, keys, kind), robust=True)


def reject(ticket, rejection):
    """Reject the ticket for good and record its upload for deletion, if
    this confirm still holds its claim."""
    with transaction.atomic():
        current = relock(ticket)
        held = holds_claim(current, ticket)
        if held:
            current.status = Status.REJECTED
            current.error_code = rejection.code
            current.final_key = ""
            current.claimed_until = None
            current.save(update_fields=["status", "error_code", "final_key", "claimed_until"])
            deletions.schedule({incoming_key_of(current): Reason.REJECTED})
    if held:
        raise rejection
    return answer_of(current)


def relock(ticket):
    """The ticket's row, locked; None if ``purge_uploads`` deleted it."""
    return UploadTicket.objects.select_for_update().filter(pk=ticket.pk).first()


def holds_claim(current, ticket):
    return (
        current is not None
        and current.status == Status.ISSUED
        and current.final_key == ticket.final_key
    )


def answer_of(current):
    """The answer of a confirm whose claim lapsed and was taken over: the
    ticket as the other confirm left it, if confirmed, or its error."""
    if current is None:
        raise TicketExpired()
    if current.status == Status.CONFIRMED:
        return current
    if current.status == Status.REJECTED:
        raise REJECTIONS[current.error_code]()
    raise ConfirmInProgress(retry_after=upload_settings.RETRY_AFTER)


def discard(ticket, backend):
    """Remove the copy this confirm made but did not attach, and give up
    the claim. The store made the copy a moment ago, and what failed may be
    the database, so the copy is deleted now; should that fail, it is
    recorded for deletion."""
    orphan = None
    try:
        with events.waiting("store_ms"):
            backend.delete(ticket.final_key)
    except Exception as error:
        logger.warning("Could not delete %s now: %s", ticket.final_key, deletions.describe(error))
        orphan = ticket.final_key
    release(ticket, orphan=orphan)


def release(ticket, *, orphan=None):
    """Give up this confirm's claim, so that the next confirm need not wait
    for it to lapse, and record ``orphan`` for deletion.

    Should the database fail here too, the claim lapses on its own, and the
    confirm that takes it over, or ``purge_uploads`` once the ticket
    expires, deletes the copy it names (if confirm could have chosen that
    key: ``claimed_copy_key``)."""
    try:
        with transaction.atomic():
            if orphan:
                deletions.schedule({orphan: Reason.UNATTACHED})
            UploadTicket.objects.filter(
                pk=ticket.pk, status=Status.ISSUED, final_key=ticket.final_key
            ).update(final_key="", claimed_until=None)
    except DatabaseError:
        logger.exception("Could not release the claim on ticket %s", ticket.pk)


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
    # The recorded deletes retried (deleted, still failing, kept): empty
    # with dry_run, which retries nothing.
    retried: deletions.DeletionReport = field(default_factory=deletions.DeletionReport)
    # With dry_run, the deletes recorded, which a run would retry.
    recorded: int = 0
    # Rendition sets of images no object uses, forgotten (their task never ran).
    sets_forgotten: int = 0
    # Rendition sets left pending, queued again or failed (a worker killed
    # while it made them).
    restarts: renditions.Restarts = field(default_factory=renditions.Restarts)
    # Files a process stopped while writing left (filesystem mode), deleted.
    temporaries: list = field(default_factory=list)


def purge_expired(*, dry_run=False, now=None):
    """Delete tickets that expired unconfirmed, with their objects (and the
    copy of a confirm that died), and the incoming objects left behind by
    confirmed tickets (a client may re-post to an incoming key until its
    policy expires); then forget the rendition sets of images no object
    uses (``renditions.forget_orphans``), queue again the making of those
    left pending by a worker that died (``renditions.restart_stalled``),
    retry every recorded delete that has not succeeded yet, and delete the
    files a process stopped while writing left on disk (filesystem mode,
    ``purge_temporaries``). Idempotent.

    A ticket whose object the store refuses to delete stays, so that the
    next run tries again; the report lists it. The store is asked with no
    transaction open: each ticket's row goes on its own once its objects
    are gone."""
    backend = get_backend()
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=upload_settings.CONFIRM_GRACE)
    report = PurgeReport()
    expired = UploadTicket.objects.filter(expires_at__lt=cutoff)
    purge_unconfirmed(expired, now, backend, dry_run, report)
    purge_leftovers(expired, backend, dry_run, report)
    if dry_run:
        report.recorded = PendingDeletion.objects.count()
    else:
        report.sets_forgotten = renditions.forget_orphans()
    # After forget_orphans: the sets of images gone are not made again.
    report.restarts = renditions.restart_stalled(dry_run=dry_run, now=now)
    if not dry_run:
        report.retried = deletions.delete_recorded(now=now)
    report.temporaries = backend.purge_temporaries(now, dry_run=dry_run)
    return report


# What a ticket's incoming key is derived from (``derived_incoming_key``).
DERIVABLE = ("pk", "site_id", "kind", "content_type", "incoming_key")


def purge_unconfirmed(expired, now, backend, dry_run, report):
    """Delete the ``expired`` tickets that were never confirmed, each once
    its upload, and the copy of a confirm that died, are gone."""
    # No confirm can claim these any more; one that claimed before stays
    # alone until its claim lapses.
    unconfirmed = expired.exclude(status=Status.CONFIRMED).exclude(claimed_until__gt=now)
    for ticket in unconfirmed.only(*DERIVABLE, "final_key"):
        copy = ticket.final_key and claimed_copy_key(ticket)
        keys = [key for key in (derived_incoming_key(ticket), copy) if key]
        cleared = [purge_object(backend, key, dry_run, report) for key in keys]
        if not all(cleared):
            continue
        report.tickets_deleted += 1
        if not dry_run:
            unconfirmed.filter(pk=ticket.pk).delete()


def purge_leftovers(expired, backend, dry_run, report):
    """Delete what is left at the incoming keys of ``expired`` confirmed
    tickets (a client may post again until the policy expires), and mark
    each ticket done."""
    leftovers = expired.filter(status=Status.CONFIRMED, incoming_purged=False)
    for ticket in leftovers.only(*DERIVABLE):
        key = derived_incoming_key(ticket)
        if (not key or purge_object(backend, key, dry_run, report)) and not dry_run:
            leftovers.filter(pk=ticket.pk).update(incoming_purged=True)


def derived_incoming_key(ticket):
    """The ticket's incoming key if its row holds the one its site, folder
    and id give; otherwise ``None``, logged: purge never deletes a key it
    cannot derive (it may be another site's object)."""
    try:
        expected = incoming_key_of(ticket)
    except LookupError:  # a kind no longer declared: nothing to derive from
        expected = None
    if expected != ticket.incoming_key:
        logger.error("Ticket %s names incoming key %r: left alone", ticket.pk, ticket.incoming_key)
        return None
    return expected


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
