from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from inventory import images
from inventory.models import CUG_TAKEN, PRICE_NEGATIVE, Configuration, Product, save_changes

#: The state of an image's renditions, as the schema documents it.
STATE = serializers.ChoiceField(
    choices=images.STATES,
    help_text="`pending`: the server is making the renditions (seconds); their URLs are "
    "null until `ready`. `failed`: the file could not be decoded, and is shown nowhere. "
    "`none`: no image.",
)


def absolute(request, url):
    """A URL that works from a phone: presigned or CDN in S3 mode, absolute
    in filesystem mode."""
    return request.build_absolute_uri(url) if url else None


class ViewedImagesList(serializers.ListSerializer):
    """A list whose items' images are viewed together: their renditions are
    fetched in one query, however long the page."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.image_viewer.prefetch(self.child.image_of(item) for item in items)
        return super().to_representation(items)


class ViewedImageSerializer(serializers.ModelSerializer):
    """A row with one image field, which the requesting user gets as
    ``inventory.images`` says: renditions only, the original for those who
    may see it. Subclasses say which field (``image_of``) of which site
    (``site_id_of``)."""

    class Meta:
        list_serializer_class = ViewedImagesList

    def image_of(self, row):
        raise NotImplementedError

    def site_id_of(self, row):
        raise NotImplementedError

    def update(self, instance, validated_data):
        """DRF's, but for the save: the fields sent, not the whole row as it
        was read (``inventory.models.save_changes``). The rows written here
        have no many-to-many field nor nested one, which DRF's handles."""
        for name, value in validated_data.items():
            setattr(instance, name, value)
        save_changes(instance, validated_data)
        return instance

    @property
    def image_viewer(self):
        """One viewer for the whole response, kept in the root's context."""
        context = self.root.context
        if "image_viewer" not in context:
            context["image_viewer"] = images.ImageViewer(context["request"].user)
        return context["image_viewer"]

    def viewed(self, row):
        """The row's image as the user gets it, viewed once for all its fields."""
        if getattr(self, "_viewed_row", None) is not row:
            self._viewed_row = row
            self._viewed = self.image_viewer.view(self.image_of(row), self.site_id_of(row))
        return self._viewed


@extend_schema_field({"type": "string", "nullable": True})
class ImageURLField(serializers.Field):
    """One URL of the row's image as the user gets it: ``attribute`` of its
    ``inventory.images.ViewedImage``, absolute, or null."""

    def __init__(self, attribute, **kwargs):
        self.attribute = attribute
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row):
        url = getattr(self.parent.viewed(row), self.attribute)
        return absolute(self.context["request"], url)


@extend_schema_field(STATE)
class ImageStateField(serializers.Field):
    """The state of the row's image's renditions."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row):
        return self.parent.viewed(row).state


THUMBNAIL_HELP = "The small rendition (about 200 px, WebP), for lists; null unless `ready`."
DISPLAY_HELP = "The display rendition (about 1600 px, WebP); null unless `ready`."
ORIGINAL_HELP = (
    "The file as its uploader sent it: only for the site's admins and superusers, "
    "null for everyone else."
)

PRICE_HELP = "In the site's currency; zero or more. 0 when not sent on creation."
QUANTITY_HELP = (
    "Units in stock. May be below zero: stock sold before it was restocked. "
    "0 when not sent on creation."
)


# The schema's descriptions of the two bodies, for client developers (the
# classes' docstrings, for maintainers, would be the schema's otherwise).
@extend_schema_serializer(
    description="A product of the site. Its photo is read-only here: it is sent through an "
    "upload ticket of kind `product`, and shown as renditions once `image_state` is `ready`."
)
class ProductSerializer(ViewedImageSerializer):
    """A product of the site in the context (``site``, among whose products
    its CUG must be unique); the image is read-only here and changes
    through upload tickets."""

    thumbnail_url = ImageURLField("thumbnail_url", help_text=THUMBNAIL_HELP)
    image_url = ImageURLField("display_url", help_text=DISPLAY_HELP)
    image_state = ImageStateField()
    original_url = ImageURLField("original_url", help_text=ORIGINAL_HELP)

    class Meta(ViewedImageSerializer.Meta):
        model = Product
        fields = [
            "id",
            "name",
            "cug",
            "price",
            "quantity",
            "thumbnail_url",
            "image_url",
            "image_state",
            "original_url",
            "created_at",
            "updated_at",
        ]
        # DRF turns the model's MinValueValidator into its own minimum,
        # with its own message: the model's, as on the pages.
        # A quantity below zero is stock sold before it was restocked, not
        # an error: said, so that no client refuses one.
        extra_kwargs = {
            "price": {"error_messages": {"min_value": PRICE_NEGATIVE}, "help_text": PRICE_HELP},
            "quantity": {"help_text": QUANTITY_HELP},
        }

    def image_of(self, product):
        return product.image

    def site_id_of(self, product):
        return product.site_configuration_id

    def validate_cug(self, cug):
        # The database constraint would answer 500; say which field instead.
        if self.cug_taken(cug):
            raise serializers.ValidationError(CUG_TAKEN)
        return cug

    def cug_taken(self, cug):
        others = Product.objects.filter(site_configuration=self.context["site"], cug=cug)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def save(self, **kwargs):
        """Saved, or the check's answer if another request took the CUG
        since it was checked (the constraint refused the save)."""
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            cug = self.validated_data.get("cug")
            if cug is None or not self.cug_taken(cug):
                raise
            raise serializers.ValidationError({"cug": [CUG_TAKEN]}) from None


@extend_schema_serializer(
    description="The site the user works for. Its logo is read-only here: it is sent through "
    "an upload ticket of kind `logo`, and shown as renditions once `logo_state` is `ready`."
)
class SiteSerializer(ViewedImageSerializer):
    """A site; its logo is read-only here and changes through upload tickets."""

    logo_thumbnail_url = ImageURLField("thumbnail_url", help_text=THUMBNAIL_HELP)
    logo_url = ImageURLField("display_url", help_text=DISPLAY_HELP)
    logo_state = ImageStateField()
    logo_original_url = ImageURLField("original_url", help_text=ORIGINAL_HELP)

    class Meta(ViewedImageSerializer.Meta):
        model = Configuration
        fields = [
            "id",
            "site_name",
            "address",
            "city",
            "country",
            "phone",
            "email",
            "currency",
            "logo_thumbnail_url",
            "logo_url",
            "logo_state",
            "logo_original_url",
        ]
        read_only_fields = ["id"]

    def image_of(self, site):
        return site.logo

    def site_id_of(self, site):
        return site.pk
