from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.querysets import ConfigurationQuerySet, ProductQuerySet
from uploads.keys import site_upload_path


def save_changes(row, names):
    """Save ``row``: a new one whole, an existing one's fields ``names``
    alone, with those that time a change (``auto_now``).

    A page's form or an API request that changes a product or a site
    writes what it changes, never the whole row as it read it. The row's
    image is attached by its upload's confirmation, which locks the row
    and writes that column alone, at any moment: a save of the whole row
    written over it named the image it replaced again, deleted since (a
    broken image)."""
    if row._state.adding:
        row.save()
        return
    row.save(
        update_fields=[
            field.name
            for field in row._meta.concrete_fields
            if field.name in names or getattr(field, "auto_now", False)
        ]
    )


def logo_upload_to(configuration, filename):
    from inventory.upload_targets import SiteLogoTarget

    return site_upload_path(configuration.pk, SiteLogoTarget.folder, filename)


def product_image_upload_to(product, filename):
    from inventory.upload_targets import ProductImageTarget

    return site_upload_path(product.site_configuration_id, ProductImageTarget.folder, filename)


class Configuration(models.Model):
    """One shop (a *site*): its name, logo and contact details.

    Every product, user and uploaded file belongs to one site; the row's
    primary key is the ``<site_id>`` in ``media/sites/<site_id>/``.

    ``site_name`` is a label for people, not a key, and two shops may bear
    the same one: URLs, the session, media folders and the API name sites
    by id. Unique names would make every rename tell a site admin whether
    another shop bears the name (nothing else of another site shows to
    them), and refuse a shop a name for a reason it may not be told.
    Superusers, who see every site, tell same-named ones apart by city
    (the site chooser and switcher show both; the admin's site fields and
    filters, city and id: ``inventory.sites.site_labels``).
    """

    site_name = models.CharField(_("site name"), max_length=100)
    logo = models.ImageField(_("logo"), upload_to=logo_upload_to, max_length=255, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="XOF",
        help_text=_("ISO 4217 code, such as XOF or EUR."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ConfigurationQuerySet.as_manager()

    class Meta:
        verbose_name = _("site configuration")
        verbose_name_plural = _("site configurations")
        # The same order every time, names shared or not.
        ordering = ["site_name", "city", "pk"]

    def __str__(self):
        return self.site_name

    def save(self, *args, **kwargs):
        # A logo goes to its site's folder, whose name is the primary key: a
        # new site is inserted first, then its logo is stored.
        if self._state.adding and self.logo and not self.logo._committed:
            logo, self.logo = self.logo, None
            super().save(*args, **kwargs)
            self.logo = logo
            super().save(update_fields=["logo"])
        else:
            super().save(*args, **kwargs)


class User(AbstractUser):
    """A member of one site's staff; superusers act on every site."""

    site_configuration = models.ForeignKey(
        Configuration,
        verbose_name=_("site"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="users",
    )
    is_site_admin = models.BooleanField(
        _("site admin"),
        default=False,
        help_text=_("May change the site's settings and logo."),
    )


#: What a product whose CUG its site already has is refused with, on every
#: path (the constraint's check in forms, the API's serializer).
CUG_TAKEN = _("This site already has a product with this CUG.")
#: What a price below zero (a typo, a sign pasted in) is refused with, on
#: every path (the field's validator; the API's serializer, whose minimum
#: DRF takes from it).
PRICE_NEGATIVE = _("The price cannot be negative.")


class Product(models.Model):
    site_configuration = models.ForeignKey(
        Configuration,
        verbose_name=_("site"),
        on_delete=models.CASCADE,
        # Legacy rows may have no site; their images live in sites/default/.
        null=True,
        blank=True,
        related_name="products",
    )
    name = models.CharField(_("name"), max_length=200)
    cug = models.CharField(
        _("CUG"), max_length=50, help_text=_("The product's code, unique in a site.")
    )
    # Zero is a price: one not set yet, or a product given away.
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0, message=PRICE_NEGATIVE)],
    )
    quantity = models.IntegerField(_("quantity"), default=0)
    image = models.ImageField(
        _("image"), upload_to=product_image_upload_to, max_length=255, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The key of the new product form that made the product: that form sent
    # again (a double tap, a save sent again after its answer was lost on
    # the network) is the same product's save, not a second product's
    # (inventory.views.product_edit).
    save_key = models.UUIDField(null=True, blank=True, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["site_configuration", "cug"],
                name="unique_cug_per_site",
                violation_error_message=CUG_TAKEN,
            ),
            # The validator's rule, for what saves without validating (an
            # update(), a script).
            models.CheckConstraint(
                condition=models.Q(price__gte=0),
                name="price_not_negative",
                violation_error_message=PRICE_NEGATIVE,
            ),
            models.UniqueConstraint(
                fields=["site_configuration", "save_key"], name="one_product_per_save_key"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.cug})"
