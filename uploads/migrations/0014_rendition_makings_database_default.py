"""``RenditionSet.unfinished_makings`` gets its default in the database too:
0012 added the column NOT NULL with Django's default only, and the worker of
the code before it, whose INSERT omits the column, failed on every new
image until it was stopped. With this one applied it inserts its sets again,
their count 0. PostgreSQL: ``ALTER COLUMN ... SET DEFAULT 0``, which rewrites
nothing; SQLite rebuilds the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0013_ticket_outlives_its_user"),
    ]

    operations = [
        migrations.AlterField(
            model_name="renditionset",
            name="unfinished_makings",
            field=models.PositiveSmallIntegerField(
                db_default=0,
                default=0,
                help_text=(
                    "Makings started that did not end: one under way, or a worker that died in it."
                ),
                verbose_name="unfinished makings",
            ),
        ),
    ]
