"""The admin of the upload app: its tickets, the objects left to delete and
the rendition sets, read only, each site's staff seeing their own site's
rows alone.

``uploads`` knows sites only as ids (``uploads.sites``): a user's site, and
the names the project gives them (``UPLOADS["SITE_NAMES"]``)."""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from uploads import admin_actions
from uploads.keys import media_key, site_folder
from uploads.models import PendingDeletion, RenditionSet, UploadTicket
from uploads.sites import get_site_names, get_user_site_id
from uploads.targets import get_target, kind_name

Status = UploadTicket.Status


class SiteScopedAdmin(admin.ModelAdmin):
    """Superusers see every site's rows; anyone else their own site's only
    (none without a site), so that another site's row is missing from
    lists, filters and counts, and its id in a URL is answered as the admin
    answers a missing object.

    ``site_scoped`` says so to a project's admin site that offers a site's
    staff only such admins (this project's does: ``project.admin``)."""

    site_scoped = True

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        site_id = get_user_site_id(request.user)
        if site_id is None:
            return rows.none()
        return self.rows_of_site(rows, site_id)

    def rows_of_site(self, rows, site_id):
        raise NotImplementedError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the services write and delete, never a person by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Objects to delete --------------------------------------------------------


class FailedFilter(admin.SimpleListFilter):
    title = _("attempts")
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return [("yes", _("failed at least once")), ("no", _("not tried yet"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(attempts__gt=0)
        if self.value() == "no":
            return queryset.filter(attempts=0)
        return queryset


@admin.register(PendingDeletion)
class PendingDeletionAdmin(SiteScopedAdmin, ReadOnlyAdmin):
    """What is left to delete from the store, and why the deletes that keep
    failing fail. Read only: the task and ``purge_uploads`` do the deleting;
    a row goes once its object is gone. A site's staff see the keys in
    their site's folder (``uploads.keys``)."""

    list_display = ["key", "reason", "attempts", "last_error", "next_attempt_at", "created_at"]
    list_filter = [FailedFilter, "reason"]
    search_fields = ["key"]

    def rows_of_site(self, rows, site_id):
        return rows.filter(key__startswith=media_key(site_folder(site_id, "")))


# --- Upload tickets -----------------------------------------------------------


class TicketStatusFilter(admin.SimpleListFilter):
    """The status clients are told (``public_status``): an issued ticket
    past its expiry reads as expired, which is never stored."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == Status.EXPIRED:
            return queryset.filter(status=Status.ISSUED, expires_at__lte=now)
        if self.value() == Status.ISSUED:
            return queryset.filter(status=Status.ISSUED, expires_at__gt=now)
        if self.value() in (Status.CONFIRMED, Status.REJECTED):
            return queryset.filter(status=self.value())
        return queryset


class TicketSiteFilter(admin.SimpleListFilter):
    """The sites of the tickets the user sees: their own site, or every
    site with tickets for a superuser; never a site they may not see."""

    title = _("site")
    parameter_name = "site"

    def lookups(self, request, model_admin):
        site_ids = (
            model_admin.get_queryset(request)
            .exclude(site_id=None)
            .order_by("site_id")
            .values_list("site_id", flat=True)
            .distinct()
        )
        names = get_site_names(site_ids)
        return sorted(names.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            return queryset.filter(site_id=int(self.value()))
        except ValueError:
            return queryset.none()


@admin.register(UploadTicket)
class UploadTicketAdmin(SiteScopedAdmin, ReadOnlyAdmin):
    """Who uploaded what, where, and what became of it. Read only: tickets
    are issued and confirmed by the services; the actions go through them
    (``uploads.admin_actions``)."""

    list_display = [
        "id",
        "status_display",
        "site_display",
        "kind",
        "target_display",
        "size_display",
        "user",
        "created_at",
        "expires_at",
    ]
    list_filter = [TicketStatusFilter, "kind", TicketSiteFilter]
    search_fields = ["id", "user__username"]
    list_select_related = ["user"]
    actions = [admin_actions.confirm_selected, admin_actions.purge_expired]
    readonly_fields = ["status_display", "site_display", "target_display", "size_display"]

    def rows_of_site(self, rows, site_id):
        return rows.filter(site_id=site_id)

    def has_confirm_permission(self, request):
        return self.has_view_permission(request)

    def has_purge_permission(self, request):
        # purge_expired removes every site's expired tickets: it is
        # maintenance of the whole store, for superusers.
        return request.user.is_active and request.user.is_superuser

    def get_changelist(self, request, **kwargs):
        return NamedSitesChangeList

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, ticket):
        return ticket.public_status_label

    @admin.display(description=_("site"), ordering="site_id")
    def site_display(self, ticket):
        if ticket.site_id is None:
            return "-"
        names = getattr(ticket, "site_names", None) or get_site_names([ticket.site_id])
        return names[ticket.site_id]

    @admin.display(description=_("target"))
    def target_display(self, ticket):
        if ticket.object_id is None:
            # A ticket for an object still to be created (the admin's add
            # form): bound to it by the save that creates it.
            return _("new %(kind)s") % {"kind": kind_name(ticket.kind)}
        label = _("%(kind)s #%(object)s") % {
            "kind": kind_name(ticket.kind),
            "object": ticket.object_id,
        }
        url = self.target_url(ticket)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description=_("size"), ordering="size")
    def size_display(self, ticket):
        return filesizeformat(ticket.size)

    def target_url(self, ticket):
        """The admin change page of the ticket's object, if its model has
        one on this admin site (whether the viewer may open it is that
        page's business: it answers as for a missing object)."""
        try:
            opts = get_target(ticket.kind).model._meta
        except LookupError:
            return None
        try:
            return reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[quote(ticket.object_id)],
            )
        except NoReverseMatch:
            return None


class NamedSitesChangeList(ChangeList):
    """Names the sites of a page of tickets in one call to the project."""

    def get_results(self, request):
        super().get_results(request)
        names = get_site_names(ticket.site_id for ticket in self.result_list)
        for ticket in self.result_list:
            ticket.site_names = names


# --- Renditions ---------------------------------------------------------------


@admin.register(RenditionSet)
class RenditionSetAdmin(SiteScopedAdmin, ReadOnlyAdmin):
    """Which images have their renditions, which are being made, and which
    failed (an original that does not decode, or whose makings stopped the
    worker). Read only: the worker and ``build_renditions`` make them; a
    row goes with its original. A site's staff see the images in their
    site's folder (``uploads.keys``)."""

    list_display = ["original", "kind", "state", "error_code", "unfinished_makings", "updated_at"]
    list_filter = ["state", "error_code", "kind"]
    search_fields = ["original"]

    def rows_of_site(self, rows, site_id):
        return rows.filter(original__startswith=site_folder(site_id, ""))
