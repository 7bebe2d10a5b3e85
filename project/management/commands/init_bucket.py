from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from project.buckets import ensure_bucket
from uploads.storage import S3MediaStorage, s3_enabled


class Command(BaseCommand):
    help = (
        "Create the media bucket if it is missing and set its CORS for the "
        "origins that serve the pages (CSRF_TRUSTED_ORIGINS, or each --origin). "
        "Safe to repeat; the compose stack runs it once before the app starts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            help="An origin whose pages upload (repeatable; default: CSRF_TRUSTED_ORIGINS).",
        )

    def handle(self, *args, origins=None, **options):
        if not s3_enabled():
            raise CommandError("AWS_STORAGE_BUCKET_NAME is empty: there is no bucket to set up.")
        origins = origins or list(settings.CSRF_TRUSTED_ORIGINS)
        storage = S3MediaStorage()
        try:
            created = ensure_bucket(
                storage.connection.meta.client,
                storage.bucket_name,
                origins,
                region=storage.region_name,
            )
        except Exception as exc:
            raise CommandError(f"Could not set up bucket {storage.bucket_name}: {exc}") from exc
        verb = "Created" if created else "Found"
        cors = f"CORS for {', '.join(origins)}" if origins else "no CORS origins given"
        self.stdout.write(f"{verb} bucket {storage.bucket_name}; {cors}.")
