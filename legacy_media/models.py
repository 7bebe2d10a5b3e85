"""
The journal of the import: which old files were copied where.

It lives here rather than in ``uploads`` because it serves this one-off
import only: a project that reuses ``uploads`` has no old app to migrate
from. The table came from ``uploads`` (its migration 0002); this app's
first migration copies its rows over before ``uploads`` drops it.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MigratedSource(models.Model):
    """An old image that ``migrate_images_to_multisite`` copied into the
    per-site layout, kept until ``--delete-source`` has removed it.

    Once a row points at its copy, nothing in the database names the old
    file any more, and the copy's name holds only a hash of the old name,
    which cannot be reversed: without this record a later run could not
    know which old files were moved. The record lives in the database
    rather than as metadata on the copies because it must outlive them (a
    confirm that replaces an image deletes its copy), work for files on
    disk as for objects in a bucket, be written before the rows follow the
    copy (killed in between, the rows still name the source, which is
    therefore kept), and be found without a HEAD of every image.
    """

    origin = models.CharField(
        _("origin"), max_length=255, help_text=_("The bucket or folder the source was read from.")
    )
    source = models.CharField(_("source"), max_length=1024)
    destination = models.CharField(
        _("destination"), max_length=255, help_text=_("The copy's name in the media storage.")
    )
    copied_at = models.DateTimeField(_("copied at"), default=timezone.now)
    source_deleted_at = models.DateTimeField(_("source deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("migrated source")
        verbose_name_plural = _("migrated sources")
        constraints = [
            models.UniqueConstraint(
                fields=["origin", "source", "destination"],
                name="legacy_media_migrated_source_unique",
            )
        ]

    def __str__(self):
        return f"{self.source} -> {self.destination}"
