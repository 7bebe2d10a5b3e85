from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from uploads.models import PendingDeletion, RenditionSet


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that the app alone writes and deletes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PendingDeletion)
class PendingDeletionAdmin(ReadOnlyAdmin):
    """What is left to delete from the store, and why the deletes that keep
    failing fail. Read only: the task and ``purge_uploads`` do the deleting;
    a row goes once its object is gone."""

    list_display = ["key", "reason", "attempts", "last_error", "next_attempt_at", "created_at"]
    list_filter = [FailedFilter, "reason"]
    search_fields = ["key"]


@admin.register(RenditionSet)
class RenditionSetAdmin(ReadOnlyAdmin):
    """Which images have their renditions, which are being made, and which
    failed (an original that does not decode). Read only: the worker and
    ``build_renditions`` make them; a row goes with its original."""

    list_display = ["original", "kind", "state", "error_code", "updated_at"]
    list_filter = ["state", "kind"]
    search_fields = ["original"]
