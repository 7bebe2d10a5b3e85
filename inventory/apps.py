from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from uploads.targets import register

        from inventory.upload_targets import ProductImageTarget, SiteLogoTarget

        register(ProductImageTarget())
        register(SiteLogoTarget())
