"""A ticket outlives its user, its user ``None``, for ``purge_uploads`` to
delete with its objects (``UploadTicket``'s docstring). PostgreSQL: ``ALTER
COLUMN ... DROP NOT NULL``, which rewrites nothing; ``on_delete`` is
Django's, not the database's."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0012_rendition_makings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="uploadticket",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="upload_tickets",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
    ]
