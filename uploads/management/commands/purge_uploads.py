from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from uploads.errors import StorageAccessDenied
from uploads.services import purge_expired

# Failed keys listed one by one; beyond, a count.
LISTED = 20


class Command(BaseCommand):
    help = (
        "Delete upload tickets that expired unconfirmed, with their uploaded "
        "objects, and objects left at the incoming keys of confirmed tickets. "
        "Safe to run at any time, for example hourly from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be deleted; delete nothing."
        )

    def handle(self, *args, dry_run, **options):
        report = purge_expired(dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {report.tickets_deleted} expired ticket(s) and "
            f"{report.objects_deleted} object(s)."
        )
        if report.unchecked:
            self.stdout.write(
                f"The store would not say whether {len(report.unchecked)} incoming key(s) "
                f"held an object (403 to a HEAD: the credentials lack s3:ListBucket on the "
                f"bucket, see the IAM policy in the README), so they "
                f"{'would be' if dry_run else 'were'} deleted without being counted."
            )
        if report.failed:
            self.write_failures(report.failed)
            raise CommandError(
                f"{len(report.failed)} object(s) could not be deleted; "
                "their tickets are kept for the next run."
            )

    def write_failures(self, failed):
        for key, error in failed[:LISTED]:
            if isinstance(error, StorageAccessDenied):
                reason = f"the store refused the {error.operation} (403)"
            else:
                reason = f"the store is unavailable ({error.__cause__ or error})"
            self.stderr.write(f"Not deleted: {key}: {reason}")
        if len(failed) > LISTED:
            self.stderr.write(f"... and {len(failed) - LISTED} more.")
        if any(isinstance(error, StorageAccessDenied) for _, error in failed):
            self.stderr.write(
                f"Grant s3:DeleteObject on arn:aws:s3:::{settings.AWS_STORAGE_BUCKET_NAME}"
                "/media/sites/* (see the IAM policy in the README)."
            )
