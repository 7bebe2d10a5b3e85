from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LegacyMediaConfig(AppConfig):
    name = "legacy_media"
    verbose_name = _("Images of the previous app")
    default_auto_field = "django.db.models.BigAutoField"
