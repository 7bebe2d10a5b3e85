"""
Direct uploads in the admin's add and change forms: the widget posts the
image straight to the store with a ticket from the upload API (as the pages'
picker does, through ``direct-upload.js``) and puts the ticket's id in the
form; saving the form confirms it, through ``uploads.services``.

Where confirm runs. Django's admin wraps ``changeform_view``, validation and
save alike, in one transaction, and confirm must never talk to the store
with a transaction open (a slow store would hold the database's locks; on
SQLite, the whole database's write lock). So confirm runs in two steps:

1. ``changeform_view``, before the admin's transaction begins, claims the
   ticket, inspects the upload and copies it to its final key
   (``services.prepare_confirm``); a refusal is kept for the form;
2. the form's ``clean`` turns a refusal into an error on the field (the
   other fields keep what was typed), and ``save_model``, inside the
   transaction, attaches the copy with short row locks
   (``services.attach_prepared``): the replaced image and the upload are
   deleted once that commits.

If the save does not happen (another field is invalid, or the save fails),
the copy is deleted and the ticket stays usable, for the next save.

On an add form the object does not exist yet: the widget asks for a ticket
for a new object (``new``), whose key is in the folder of the site the
form's site field names when the file is sent (``?site=``, a superuser's
choice; anyone else's is their own site whatever they name); it sends the
file again, for the new site, when that field changes. The save that
creates the object binds the ticket to it.

An object and its file are never of two sites. The save is refused, with an
error on the form, when the object's site is not the ticket's (an add form
whose site changed without the widget, a change form whose site changes
with a new file: a ticket for an existing object is of its saved site), or
when the site of an object that keeps its file changes (the file stays in
the old site's folder: clear it to move the object).
"""

import uuid
from dataclasses import dataclass
from urllib.parse import unquote

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory import images
from inventory.views import picker_messages
from uploads import services
from uploads.errors import (
    NotFound,
    PermissionDenied,
    StorageUnavailable,
    UploadError,
    UploadMissing,
)
from uploads.sites import get_request_site_id
from uploads.targets import get_target

#: Errors after which the same ticket may be saved again; after any other
#: (a rejection, an expired or foreign ticket) the widget forgets it.
RETRYABLE = (UploadMissing, StorageUnavailable)


@dataclass(frozen=True)
class FileChange:
    """What the form asks of the file: a ticket to attach, or clearing it."""

    ticket_id: uuid.UUID | None = None
    clear: bool = False


class DirectUploadWidget(forms.Widget):
    template_name = "inventory/admin/direct_upload_widget.html"

    def __init__(self, kind, attrs=None):
        super().__init__(attrs)
        self.kind = kind
        self.instance = None  # set by the form: whose file is shown
        self.new_allowed = False  # set by the form: whether a new object's file may be sent
        self.site_field = None  # set by the form: the name of its site field, if it has one
        # Set by the form on a page where the object may be seen, not
        # changed. The admin then renders the widget in place of the field's
        # read-only display (Django's hook for such widgets): the image as
        # the widget shows it, a rendition, rather than a link to the file,
        # the original, which only those who answer for the site get
        # (``inventory.images``).
        self.read_only = False

    class Media:
        css = {"all": ["inventory/admin-upload.css"]}

    def clear_name(self, name):
        return f"{name}-clear"

    def value_from_datadict(self, data, files, name):
        return {"ticket": data.get(name, ""), "clear": self.clear_name(name) in data}

    def value_omitted_from_data(self, data, files, name):
        return name not in data and self.clear_name(name) not in data

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = value if isinstance(value, dict) else {"ticket": "", "clear": False}
        instance = self.instance
        target = get_target(self.kind)
        current = getattr(instance, target.field_name, None) if instance is not None else None
        context["widget"]["messages"] = widget_messages()
        context["widget"]["upload"] = {
            "kind": self.kind,
            "object_id": instance.pk if instance is not None else None,
            # A new object's file: only kinds whose objects are created with it.
            "available": bool(instance is not None and instance.pk) or self.new_allowed,
            "current": current if current else None,
            # As the pages show it: a rendition, never the original.
            "image": images.ImageViewer().view(current, None) if current else images.NO_IMAGE,
            "ticket": value["ticket"],
            "clear": value["clear"],
            "clear_name": self.clear_name(name),
            # A new object's file goes to the site this field names.
            "site_field": self.site_field,
            "read_only": self.read_only,
        }
        return context


def widget_messages():
    """What the widget says, in the page's language: the pages' picker's
    words where they fit, so that both speak alike."""
    picker = picker_messages()
    shared = ["preparing", "uploading", "offline", "cancelled", "failed", "wrong_type"]
    return {
        **{key: picker[key] for key in [*shared, "network_error", "upload_refused", "expired"]},
        "uploaded": _("Image uploaded: save to apply it."),
        "wait": _("Wait for the upload to finish, then save."),
        "choose_site": _("Choose the site: the image is sent once it is chosen."),
    }


class DirectUploadField(forms.Field):
    """The file of one kind of upload: no change, a ticket, or clearing."""

    default_error_messages = {"invalid": _("The upload is not valid. Choose the file again.")}

    def __init__(self, kind, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", DirectUploadWidget(kind))
        super().__init__(**kwargs)

    def to_python(self, value):
        if not isinstance(value, dict):
            return FileChange()
        ticket = (value.get("ticket") or "").strip()
        try:
            ticket_id = uuid.UUID(ticket) if ticket else None
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        return FileChange(ticket_id=ticket_id, clear=bool(value.get("clear")))


#: The save's refusals when an object and its file would be of two sites.
OTHER_SITE = _("This image was sent for another site than the one chosen. Choose the image again.")
SITE_CHANGED = _(
    "The image and the site cannot change in the same save: save the new site, "
    "then choose the image."
)
FILE_KEPT = _(
    "Its image is stored in its site's folder: clear the image to move it to another site."
)


class DirectUploadAdminMixin:
    """For a ``ModelAdmin`` whose model holds an upload target's file:
    ``direct_upload_fields`` maps the form field (the model's file field,
    excluded from the model form) to the upload kind. A ``site_field``
    attribute (``SiteScopedAdmin``'s) names the form's site field."""

    direct_upload_fields = {}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        if "_saveasnew" in request.POST:
            object_id = None  # as Django's admin reads it: the save adds an object
        # Before super() opens the admin's transaction: see the module docstring.
        request.direct_uploads = outcomes = {
            name: self.prepare_upload(request, request.POST[name], kind, object_id)
            for name, kind in self.direct_upload_fields.items()
            if request.POST.get(name)
        }
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        finally:
            for outcome in outcomes.values():
                if isinstance(outcome, services.PreparedUpload):
                    services.abandon_prepared(outcome)

    def prepare_upload(self, request, ticket_id, kind, object_id):
        """The ticket posted for ``kind``, claimed, inspected and copied;
        ``None`` if it is confirmed already; or the ``UploadError`` to show."""
        try:
            ticket_id = uuid.UUID(ticket_id)
            pk = int(unquote(object_id)) if object_id else None
        except ValueError:
            return None  # the form says what is wrong with it
        try:
            return services.prepare_confirm(request.user, ticket_id, kind=kind, object_id=pk)
        except UploadError as error:
            return error

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        outcomes = getattr(request, "direct_uploads", {})
        new_allowed = {
            name: may_upload_for_new_object(request, kind)
            for name, kind in self.direct_upload_fields.items()
        }
        kinds = self.direct_upload_fields
        site_field = getattr(self, "site_field", None)
        read_only = obj is not None and not self.has_change_permission(request, obj)

        class DirectUploadForm(form):
            def __init__(self, *args, **kwargs):
                # As saved, before the form (or SiteBoundForm) sets a site.
                saved = kwargs.get("instance")
                self.saved_sites = {
                    name: get_target(kind).get_site_id(saved)
                    for name, kind in kinds.items()
                    if saved is not None
                    and saved.pk is not None
                    and getattr(saved, get_target(kind).field_name)
                }
                super().__init__(*args, **kwargs)
                for name in DirectUploadForm.upload_fields:
                    if name in self.fields:
                        widget = self.fields[name].widget
                        widget.instance = self.instance
                        widget.new_allowed = new_allowed[name]
                        widget.site_field = site_field if site_field in self.fields else None
                        widget.read_only = read_only

            def clean(self):
                cleaned = super().clean()
                for name in self.upload_fields:
                    outcome = outcomes.get(name)
                    if isinstance(outcome, UploadError):
                        self.add_error(name, self.describe(name, outcome))
                        if not isinstance(outcome, RETRYABLE):
                            self.forget_ticket(name)
                return cleaned

            def _post_clean(self):
                super()._post_clean()  # the instance now holds what was typed
                for name in self.upload_fields:
                    site_id = get_target(kinds[name]).get_site_id(self.instance)
                    outcome = outcomes.get(name)
                    if isinstance(outcome, services.PreparedUpload):
                        self.check_ticket_site(name, outcome.ticket, site_id)
                    if name in self.saved_sites and self.saved_sites[name] != site_id:
                        self.check_file_kept(name)

            def check_ticket_site(self, name, ticket, site_id):
                """An upload waits in the folder of its ticket's site: a new
                object's, the site named when it was sent; an existing
                object's, the object's saved site. The object must be of it."""
                if site_id == ticket.site_id:
                    return
                self.add_error(name, OTHER_SITE if ticket.object_id is None else SITE_CHANGED)
                self.forget_ticket(name)

            def check_file_kept(self, name):
                """An object moving to another site keeps no file of the old
                site's folder: unless the file is cleared, the move is refused."""
                change = self.cleaned_data.get(name)
                if change is None or not change.clear:
                    field = site_field if site_field in self.fields else None
                    self.add_error(field, FILE_KEPT)

            def describe(self, name, error):
                """A ticket of another object, user or site is not found,
                as the API says; the form says what to do about it."""
                if isinstance(error, (NotFound, PermissionDenied)):
                    return self.fields[name].error_messages["invalid"]
                return str(error.detail)

            def forget_ticket(self, name):
                self.data = self.data.copy()
                self.data[name] = ""

        DirectUploadForm.upload_fields = list(self.direct_upload_fields)
        DirectUploadForm.__name__ = form.__name__
        return DirectUploadForm

    def get_exclude(self, request, obj=None):
        # The model's file field is never written by the model form:
        # save_model attaches or clears it through the services.
        return [*(super().get_exclude(request, obj) or ()), *self.direct_upload_fields]

    def save_model(self, request, obj, form, change):
        if change:
            self.keep_files_attached_meanwhile(obj)
        super().save_model(request, obj, form, change)
        outcomes = getattr(request, "direct_uploads", {})
        for name, kind in self.direct_upload_fields.items():
            outcome = outcomes.get(name)
            if isinstance(outcome, services.PreparedUpload):
                services.attach_prepared(outcome, request.user, obj)
                obj.refresh_from_db(fields=[get_target(kind).field_name])
            elif name not in outcomes and form.cleaned_data.get(name, FileChange()).clear:
                site_id = site_id_as_read(form, get_target(kind))
                services.remove_file(obj, kind=kind, site_id=site_id)

    def keep_files_attached_meanwhile(self, obj):
        """Give ``obj`` its files as they are now, its row locked until the
        admin's transaction ends. The admin saves the whole row as it read
        it when the request began, and a file may have been attached since
        (an upload confirmed from the API, with the row locked for that
        column alone): the save named the file it replaced again, deleted
        since (a broken image). The pages and the API write only the fields
        they change (``inventory.models.save_changes``); the admin writes
        what its form and its ``save_model`` set, so it reads the files
        again instead. A file this save attaches or clears is written
        after, through the services."""
        names = [get_target(kind).field_name for kind in self.direct_upload_fields.values()]
        rows = type(obj)._base_manager.select_for_update().filter(pk=obj.pk)
        current = rows.values(*names).first()
        for name, value in (current or {}).items():
            setattr(obj, name, value)


def site_id_as_read(form, target):
    """The site of the form's row as the form read it: the save may have
    moved it (a product cleared of its photo and moved to another site in
    one save), and its file is in the folder of the site it was of. A site
    field the form leaves out is one the save did not change."""
    field = target.site_field
    if field not in (None, "pk") and field in form.initial:
        return form.initial[field]
    return target.get_site_id(form.instance)


def may_upload_for_new_object(request, kind):
    """Whether the user of ``request`` may send the file of a ``kind``
    object not created yet: the kind allows it, and the request acts for a
    site to send it to, as the ticket API will ask (a superuser who has
    chosen no site and is attached to none adds the object, then its file)."""
    try:
        site_id = get_request_site_id(request)
        return services.new_object_site_id(request.user, get_target(kind), site_id) is not None
    except UploadError:
        return False
