import copy

from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from uploads.keys import media_name_of
from uploads.models import UploadTicket
from uploads.services import SHA256_BASE64
from uploads.targets import CONTENT_TYPES, get_target, get_targets


@extend_schema_field(OpenApiTypes.STR)
class FilenameField(serializers.Field):
    """Any string: the name is only shown to people (services sanitize it)
    and never reaches a key, so odd names are not an error."""

    default_error_messages = {"invalid": _("Give the file name as text.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "pattern": f"^{SHA256_BASE64.pattern}$"})
class Sha256Field(serializers.CharField):
    """A file's SHA-256 in base64, or blank. The services check it: the
    schema says their rule as a pattern, which drf-spectacular would not
    read from them."""


class TicketRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    object_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1
    )
    filename = FilenameField(required=False, default="")
    content_type = serializers.ChoiceField(choices=list(CONTENT_TYPES))
    size = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    sha256 = Sha256Field(
        required=False,
        allow_blank=True,
        default="",
        max_length=44,
        help_text="The file's SHA-256, base64-encoded (optional).",
    )
    new = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "For an object not created yet (a photo picked on a form that creates it): "
            "no `object_id`; the form's save confirms the ticket, not this API."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = sorted(get_targets())

    def get_fields(self):
        """The declared fields, copied for this serializer: shallow copies.

        DRF deep-copies them for every serializer, which makes each field
        anew (its choices, its validators, its messages): a tenth of a
        ticket's own CPU. These fields keep nothing of a request but what is
        set on each copy (``bind()``, the ``kind`` choices above), so a
        shallow copy keeps every request's fields apart as well."""
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class UploadFormSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Where to POST the form: the bucket, or the emulator.")
    fields = serializers.DictField(
        child=serializers.CharField(),
        help_text="Post every entry as a multipart field, then the file as `file`, last.",
    )


def image_url(request, key):
    """A URL to GET the object at ``key``, made when the response is
    rendered: a presigned URL expires, so none is ever stored."""
    return absolute_url(request, default_storage.url(media_name_of(key)))


class ConfirmedImageSerializer(serializers.Serializer):
    """The confirm response, from a confirmed ticket; confirming again
    returns the same, with a URL signed anew."""

    # Declared for the schema; the output is built in to_representation.

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["confirmed"])
    kind = serializers.CharField()
    object_id = serializers.IntegerField()
    key = serializers.CharField(source="final_key", help_text="The image's key in the bucket.")
    url = serializers.CharField(help_text="A URL to GET the image (presigned or CDN).")
    format = serializers.ChoiceField(choices=["jpeg", "png", "webp"])
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size = serializers.IntegerField()

    def to_representation(self, ticket):
        """Built here rather than by the fields (as ``TicketSerializer``
        builds its own): DRF makes the serializer's ten fields anew for
        every answer, which cost more than the rest of it."""
        return {
            "id": str(ticket.id),
            "status": str(ticket.status),
            "kind": ticket.kind,
            "object_id": ticket.object_id,
            "key": ticket.final_key,
            "url": image_url(self.context.get("request"), ticket.final_key),
            "format": ticket.format,
            "width": ticket.width,
            "height": ticket.height,
            "size": ticket.size,
        }


# Dates as DRF writes them (``DATETIME_FORMAT``), with one field for every
# answer: it keeps no state while it writes one.
DATE_TIME = serializers.DateTimeField()


# The schema publishes this docstring: Markdown, for client developers.
class TicketSerializer(serializers.Serializer):
    """A ticket as clients see it; `upload` only in the answer that issues
    it, the confirm response's fields once it is confirmed."""

    # Declared for the schema; the output is built in to_representation.

    id = serializers.UUIDField()
    kind = serializers.CharField()
    object_id = serializers.IntegerField(
        allow_null=True, help_text="Null for a new object's ticket, until its form is saved."
    )
    status = serializers.ChoiceField(choices=UploadTicket.Status.choices)
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    max_size = serializers.IntegerField(help_text="The largest file this kind accepts.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    code = serializers.CharField(required=False, help_text="Why, when `status` is rejected.")
    upload = UploadFormSerializer(required=False, help_text="Only when the ticket is issued.")
    key = serializers.CharField(required=False, help_text="Once confirmed.")
    url = serializers.CharField(required=False, help_text="Once confirmed.")
    format = serializers.CharField(required=False, help_text="Once confirmed.")
    width = serializers.IntegerField(required=False, help_text="Once confirmed.")
    height = serializers.IntegerField(required=False, help_text="Once confirmed.")

    def to_representation(self, ticket):
        data = {
            "id": str(ticket.id),
            "kind": ticket.kind,
            "object_id": ticket.object_id,
            "status": ticket.public_status,
            "content_type": ticket.content_type,
            "size": ticket.size,
            "max_size": get_target(ticket.kind).get_max_size(),
            "created_at": DATE_TIME.to_representation(ticket.created_at),
            "expires_at": DATE_TIME.to_representation(ticket.expires_at),
        }
        if ticket.status == ticket.Status.REJECTED:
            data["code"] = ticket.error_code
        if ticket.status == ticket.Status.CONFIRMED:
            data.update(ConfirmedImageSerializer(ticket, context=self.context).data)
        upload = self.context.get("upload")
        if upload:
            url = absolute_url(self.context.get("request"), upload["url"])
            data["upload"] = {**upload, "url": url}
        return data


def absolute_url(request, url):
    """Filesystem mode gives site-relative URLs; apps need absolute ones."""
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return url


# Not "Error": Swift's generators rename a type of that name (Swift's own
# protocol) to ModelError, with a warning for each use.
@extend_schema_serializer(component_name="ApiError")
class ErrorSerializer(serializers.Serializer):
    """Every error of the API."""

    code = serializers.CharField()
    detail = serializers.CharField(help_text="For people, in the request's language.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field errors, with code `invalid`.",
    )
