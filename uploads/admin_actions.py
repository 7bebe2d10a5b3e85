"""The upload tickets' admin actions: what ``confirm_ticket`` and
``purge_expired`` do, started by staff and reported to them ticket by
ticket. The services hold every rule; these only choose who acts and say
what happened."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from uploads import services
from uploads.errors import REJECTIONS, UploadError, UploadMissing
from uploads.models import UploadTicket
from uploads.targets import get_target, kind_name

Status = UploadTicket.Status


@admin.action(
    description=gettext_lazy("Confirm the selected uploads that are waiting"),
    permissions=["confirm"],
)
def confirm_selected(model_admin, request, queryset):
    """Confirm tickets left ``issued`` (a client that posted its file and
    never confirmed), as their own user: a ticket is bound to its user,
    and confirm checks that user may still change the object (a deleted
    user's ticket is confirmed by no one). The staff member must be allowed
    to change it too, so the action grants nobody anything."""
    for ticket in queryset.select_related("user").order_by("created_at"):
        level, message = confirm_one(request.user, ticket)
        model_admin.message_user(request, message, level)


def confirm_one(staff, ticket):
    """``(message level, message)`` telling what became of ``ticket``."""
    about = {
        "ticket": ticket.pk,
        "kind": kind_name(ticket.kind),
        "object": ticket.object_id,
        "status": ticket.public_status_label,
    }
    if ticket.status != Status.ISSUED:
        return messages.INFO, _("Ticket %(ticket)s is %(status)s already: left as it is.") % about
    if ticket.user is None:
        # Confirmed as its own user only: a deleted user's ticket waits for
        # purge_uploads (UploadTicket).
        return messages.ERROR, _(
            "Ticket %(ticket)s: its user was deleted, so no one may confirm it: "
            "its upload is deleted once the ticket expires."
        ) % about
    try:
        get_target(ticket.kind).get_object(staff, ticket.object_id)
    except (LookupError, UploadError):
        return messages.ERROR, _(
            "Ticket %(ticket)s: you may not change %(kind)s #%(object)s: not confirmed."
        ) % about
    try:
        services.confirm_ticket(ticket.user, ticket.pk)
    except UploadMissing:
        return messages.WARNING, _(
            "Ticket %(ticket)s: its file has not arrived yet; the ticket stays open."
        ) % about
    except UploadError as error:
        about.update(code=error.code, detail=error.detail)
        if error.code in REJECTIONS:
            return messages.WARNING, _("Ticket %(ticket)s: rejected (%(code)s): %(detail)s") % about
        return messages.ERROR, _("Ticket %(ticket)s: not confirmed (%(code)s): %(detail)s") % about
    return messages.SUCCESS, _(
        "Ticket %(ticket)s: confirmed, attached to %(kind)s #%(object)s."
    ) % about


@admin.action(
    description=gettext_lazy("Purge the expired tickets of every site"),
    permissions=["purge"],
)
def purge_expired(model_admin, request, queryset):
    """``purge_uploads``, from the admin: the selection only starts it (an
    admin action needs one); every expired ticket goes, whatever is
    selected, as the command does."""
    for level, message in purge_messages(services.purge_expired()):
        model_admin.message_user(request, message, level)


def purge_messages(report):
    """``(message level, message)`` for each part of ``purge_expired``'s
    ``report`` that has something to say: the deletes always, then each
    count that is not zero."""
    yield (
        messages.SUCCESS,
        _("Deleted %(tickets)d expired ticket(s) and %(objects)d object(s).")
        % {
            "tickets": report.tickets_deleted,
            "objects": report.objects_deleted,
        },
    )
    retried, restarts = report.retried, report.restarts
    counts = (
        (
            len(report.unchecked),
            messages.WARNING,
            _(
                "The store would not say whether %(count)d incoming key(s) held an object: "
                "they were deleted without being counted."
            ),
        ),
        (
            len(report.failed),
            messages.ERROR,
            _("%(count)d object(s) could not be deleted; their tickets are kept for the next run."),
        ),
        (
            retried.retried,
            messages.WARNING if retried.failing else messages.SUCCESS,
            _(
                "Retried %(count)d recorded deletion(s): %(deleted)d deleted, "
                "%(failing)d still failing."
            ),
        ),
        (
            len(retried.kept),
            messages.WARNING,
            _(
                "%(count)d object(s) recorded for deletion are in use again (images a row "
                "names, and their renditions): kept."
            ),
        ),
        (
            len(retried.refused),
            messages.ERROR,
            _(
                "%(count)d key(s) recorded for deletion are none the app writes (outside "
                "media/, or spelled otherwise: see the log): left alone, their records dropped."
            ),
        ),
        (
            report.sets_forgotten,
            messages.SUCCESS,
            _("Forgot the renditions of %(count)d image(s) no object uses."),
        ),
        (
            len(report.temporaries),
            messages.SUCCESS,
            _("Deleted %(count)d temporary file(s) left by a process stopped while writing them."),
        ),
        (
            len(restarts.queued),
            messages.WARNING,
            _(
                "Queued the renditions of %(count)d image(s) again, left pending by a task "
                "worker that stopped, or by a store that failed."
            ),
        ),
        (
            len(restarts.given_up),
            messages.ERROR,
            _(
                "%(count)d image(s) stopped the task worker each time their renditions were "
                "made (out of memory?): they show as photos that could not be read."
            ),
        ),
    )
    for count, level, text in counts:
        if count:
            yield (
                level,
                text
                % {
                    "count": count,
                    "deleted": len(retried.deleted),
                    "failing": len(retried.failing),
                },
            )
