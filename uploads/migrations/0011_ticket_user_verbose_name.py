"""The ticket's user is named in the admin in the user's language (no SQL)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0010_open_tickets_counted_one_request_at_a_time"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="uploadticket",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="upload_tickets",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
    ]
