from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from inventory.permission_cache import connect_signals

        connect_signals()
        from inventory.upload_targets import ProductImageTarget, SiteLogoTarget
        from uploads.targets import register

        register(ProductImageTarget())
        register(SiteLogoTarget())
