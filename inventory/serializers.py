from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from inventory.models import Configuration, Product


def absolute_file_url(request, field):
    """A URL that works from a phone: presigned or CDN in S3 mode, absolute
    in filesystem mode."""
    if not field:
        return None
    return request.build_absolute_uri(field.url)


class ProductSerializer(serializers.ModelSerializer):
    """A product of the site in the context; the image is read-only here and
    changes through upload tickets."""

    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "name", "cug", "price", "quantity", "image_url", "created_at", "updated_at"]

    def get_image_url(self, product) -> str | None:
        return absolute_file_url(self.context["request"], product.image)

    def validate_cug(self, cug):
        # The database constraint would answer 500; say which field instead.
        others = Product.objects.filter(site_configuration=self.context["site"], cug=cug)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("This site already has a product with this CUG."))
        return cug


class SiteSerializer(serializers.ModelSerializer):
    logo_url = serializers.SerializerMethodField()

    class Meta:
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
            "logo_url",
        ]
        read_only_fields = ["id"]

    def get_logo_url(self, site) -> str | None:
        return absolute_file_url(self.context["request"], site.logo)
