import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UploadTicket(models.Model):
    """Permission to upload one file to one key, then attach it once.

    The ticket binds a user, the user's site, a target kind and object, and
    the incoming key its policy covers. Confirm inspects the object at that
    key, copies it to ``final_key`` (which no policy ever covers) and records
    what it found (``format``, ``width``, ``height``), so that confirming
    again returns the same answer. Only what was decided is stored: the
    answer's URL is signed when it is served (a presigned URL expires).

    Confirm talks to the store with no transaction open, so it first claims
    the ticket: it picks ``final_key`` and holds the claim until
    ``claimed_until``. A second confirm waits for the first one's answer
    rather than copying again; a confirm that died is taken over once its
    claim has lapsed, and the copy it may have made is deleted.

    A deleted user's tickets stay, their user ``None``, and ``purge_uploads``
    deletes them as any other's. The row is what names the incoming key,
    and the policy still lets a client post there until it expires, the
    user deleted or not (a phone whose upload resumes once its network is
    back): deleted with the user, the rows would leave such objects in the
    bucket for good, named by nothing. Nor would the admin delete the user,
    as no one may delete tickets by hand (``uploads.admin.ReadOnlyAdmin``),
    and any project's user admin asks for the permission to delete every
    row a deletion cascades to. No one confirms such a ticket: a ticket is
    confirmed as its own user, and only while they exist.
    """

    class Status(models.TextChoices):
        ISSUED = "issued", _("issued")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")
        # Never stored: an issued ticket past its expiry reads as expired.
        EXPIRED = "expired", _("expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: Meta's (user, status, expires_at) leads with it.
    # None once the user is deleted: the ticket outlives them (see above).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="upload_tickets",
        db_index=False,
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=30)
    # None until the save that creates the object binds the ticket to it
    # (a photo picked on an add form: ``services.issue_ticket(new=True)``).
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    site_id = models.BigIntegerField(_("site id"), null=True, blank=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=44, blank=True)
    incoming_key = models.CharField(_("incoming key"), max_length=255)
    final_key = models.CharField(
        _("final key"),
        max_length=255,
        blank=True,
        help_text=_(
            "Where confirm copies the upload: chosen when a confirm claims the ticket, "
            "attached once it is confirmed."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    error_code = models.CharField(_("error code"), max_length=30, blank=True)
    format = models.CharField(
        _("format"), max_length=10, blank=True, help_text=_("Once confirmed: jpeg, png or webp.")
    )
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    claimed_until = models.DateTimeField(
        _("claimed until"),
        null=True,
        blank=True,
        help_text=_("While a confirm works on the ticket: until when others wait for it."),
    )
    incoming_purged = models.BooleanField(
        _("incoming object purged"),
        default=False,
        help_text=_("Set once the incoming key was cleaned after the policy expired."),
    )

    class Meta:
        verbose_name = _("upload ticket")
        verbose_name_plural = _("upload tickets")
        ordering = ["-created_at"]
        # Every ticket pays for each index, and the count of a user's open
        # tickets, on every ticket, must have one index only to choose:
        # with an index on (status, expires_at) PostgreSQL took it whenever
        # its statistics were stale (new tickets expire past the histogram's
        # end), and read every open ticket of every site to count one
        # user's. The admin's filters and the purge read the table through.
        indexes = [models.Index(fields=["user", "status", "expires_at"])]
        # A constraint rather than unique=True: no second, pattern-matching
        # index on PostgreSQL, as no query looks a key up by its prefix.
        constraints = [
            models.UniqueConstraint(
                fields=["incoming_key"], name="uploads_ticket_incoming_key_unique"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.object_id} ({self.get_status_display()})"

    def is_expired(self, now=None):
        return (now or timezone.now()) >= self.expires_at

    def is_claimed(self, now=None):
        """Whether a confirm is working on the ticket and has not timed out."""
        return bool(
            self.final_key and self.claimed_until and self.claimed_until > (now or timezone.now())
        )

    @property
    def public_status(self):
        if self.status == self.Status.ISSUED and self.is_expired():
            return self.Status.EXPIRED
        return self.status

    @property
    def public_status_label(self):
        """``public_status`` as people read it; a stored status that is no
        choice (a row altered by hand) as it is stored, so that the admin
        shows the row rather than fail on the whole list of tickets."""
        status = self.public_status
        return self.Status(status).label if status in self.Status.values else status


class PendingDeletion(models.Model):
    """An object of the store that nothing refers to any more, until it is
    deleted.

    Objects are deleted only after the database stops referring to them (a
    replaced image, an upload once copied or rejected, a copy that was never
    attached), and the store may refuse or time out then. The row is written
    in the transaction that orphans the object, so that no failure (of the
    store, or of the process right after the commit) leaves an orphan that
    nobody knows about: the ``delete_objects`` task deletes it in the
    background, retrying with backoff, ``purge_uploads`` retries whatever is
    left, and both report the objects whose deletion keeps failing.
    """

    class Reason(models.TextChoices):
        REPLACED = "replaced", _("replaced image")
        UPLOADED = "uploaded", _("uploaded object, copied")
        REJECTED = "rejected", _("rejected upload")
        UNATTACHED = "unattached", _("copy never attached")
        OWNER_DELETED = "deleted", _("its object was deleted")

    key = models.CharField(_("key"), max_length=1024, unique=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)

    class Meta:
        verbose_name = _("object to delete")
        verbose_name_plural = _("objects to delete")
        ordering = ["-attempts", "created_at"]

    def __str__(self):
        return self.key


class RenditionSet(models.Model):
    """The renditions of one original image (``uploads.renditions``): its
    state, and each variant's name and size once made.

    Created (pending) and made by the worker once the attachment of the
    original commits; forgotten with the original (by the worker when a
    confirm replaced it). No set reads as pending. Keyed by the original's
    media-relative name, so that the pages and APIs of any app find an
    image's renditions from its field.

    A worker killed while it makes them (out of memory, a restart) leaves
    the set pending, and the task backend never runs that task again:
    ``purge_uploads`` queues the making again once the set has been left
    alone for ``UPLOADS["RENDITION_LEASE"]``, and fails it (``interrupted``)
    once ``RENDITION_MAX_STARTS`` makings in a row did not end, so that an
    image that kills the worker is not tried for ever
    (``uploads.renditions.restart_stalled``).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("being made")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    class Error(models.TextChoices):
        """Why a set failed."""

        UNDECODABLE = "undecodable", _("does not decode")
        TOO_LARGE = "too_large", _("too large to decode")
        MISSING = "missing", _("original missing from the store")
        # Its makings stopped the worker (killed: out of memory, most
        # likely) each time; ``uploads.renditions.restart_stalled``.
        INTERRUPTED = "interrupted", _("its making stopped the worker each time")

    original = models.CharField(_("original"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=30)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    error_code = models.CharField(_("error code"), max_length=30, choices=Error.choices, blank=True)
    variants = models.JSONField(
        _("variants"),
        default=dict,
        blank=True,
        help_text='{spec name: {"name": ..., "width": ..., "height": ..., "size": ...}}',
    )
    # db_default too: the worker of a release before uploads.0012 inserts
    # sets without the column, and may still run once it is applied.
    unfinished_makings = models.PositiveSmallIntegerField(
        _("unfinished makings"),
        default=0,
        db_default=0,
        help_text=_(
            "Makings started that did not end: one under way, or a worker that died in it."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Also when a making starts (``uploads.renditions.begin``): a pending
    # set untouched for RENDITION_LEASE seconds has no making under way.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rendition set")
        verbose_name_plural = _("rendition sets")
        indexes = [models.Index(fields=["state"])]

    def __str__(self):
        return f"{self.original} ({self.get_state_display()})"

    @property
    def is_ready(self):
        return self.state == self.State.READY

    @property
    def is_failed(self):
        return self.state == self.State.FAILED

    def url(self, spec_name):
        """The cacheable URL of the ``spec_name`` variant; ``None`` unless
        the set is ready and has it."""
        variant = self.variants.get(spec_name) if self.is_ready else None
        if variant is None:
            return None
        from uploads.media import stable_url

        return stable_url(variant["name"])
