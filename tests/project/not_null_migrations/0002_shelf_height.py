"""As makemigrations writes it: Django's ``default`` fills the rows there are,
then the database's default is dropped, so the old code's INSERTs, which omit
the column, fail on its NOT NULL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("legacy_media", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="shelf",
            name="height",
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
