from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from inventory.models import Configuration
from project.buckets import ensure_bucket, set_incoming_expiry
from uploads.keys import incoming_prefix
from uploads.media import S3MediaStorage
from uploads.s3 import s3_enabled
from uploads.targets import get_targets


class Command(BaseCommand):
    help = (
        "Create the media bucket if it is missing, set its CORS for the origins "
        "that serve the pages (CSRF_TRUSTED_ORIGINS, or each --origin), and "
        "lifecycle rules that expire abandoned uploads. Safe to repeat: run it "
        "again after adding sites. The compose stack runs it before the app."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            help="An origin whose pages upload (repeatable; default: CSRF_TRUSTED_ORIGINS).",
        )
        parser.add_argument(
            "--expire-incoming-days",
            type=int,
            default=2,
            help="Days after which an upload never confirmed is deleted by the bucket "
            "(default 2; 0 removes the rules). purge_uploads does the same sooner.",
        )

    def handle(self, *args, origins=None, expire_incoming_days=2, **options):
        if not s3_enabled():
            raise CommandError("AWS_STORAGE_BUCKET_NAME is empty: there is no bucket to set up.")
        origins = origins or list(settings.CSRF_TRUSTED_ORIGINS)
        # The sites first: a database problem is reported as one, and leaves
        # the bucket untouched.
        prefixes = self.incoming_prefixes()
        storage = S3MediaStorage()
        client = storage.client
        try:
            created = ensure_bucket(client, storage.bucket_name, origins, storage.region_name)
            rules = set_incoming_expiry(client, storage.bucket_name, prefixes, expire_incoming_days)
        except ClientError as exc:
            message = f"Could not set up bucket {storage.bucket_name}: {exc}"
            if exc.response.get("Error", {}).get("Code") == "AccessDenied":
                message += (
                    ". The app's IAM policy may not change the bucket: run init_bucket once "
                    "with an admin key (AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... "
                    "manage.py init_bucket)."
                )
            raise CommandError(message) from exc
        except Exception as exc:
            raise CommandError(f"Could not set up bucket {storage.bucket_name}: {exc}") from exc
        verb = "Created" if created else "Found"
        cors = f"CORS for {', '.join(origins)}" if origins else "no CORS origins given"
        expiry = (
            f"uploads left unconfirmed expire after {expire_incoming_days} day(s) "
            f"({len(rules)} rules)"
            if rules
            else "no expiry rules"
        )
        self.stdout.write(f"{verb} bucket {storage.bucket_name}; {cors}; {expiry}.")

    def incoming_prefixes(self):
        """Every site's incoming folders (lifecycle filters take plain
        prefixes, so one rule per site and folder), and the default site's.

        The rules are replaced as a whole, so they are never written from a
        database without the sites table (not migrated yet, or the wrong
        one): that would drop the rules of every site."""
        table = Configuration._meta.db_table
        try:
            if table not in connection.introspection.table_names():
                raise CommandError(
                    f"The database has no {table} table yet: run `manage.py migrate` first, "
                    "then init_bucket (its expiry rules cover each site's folders). "
                    "Nothing was changed in the bucket."
                )
            sites = [None, *Configuration.objects.order_by("pk").values_list("pk", flat=True)]
        except DatabaseError as exc:
            raise CommandError(f"Could not read the sites from the database: {exc}") from exc
        folders = sorted({target.folder for target in get_targets().values()})
        return [incoming_prefix(site, folder) for site in sites for folder in folders]
