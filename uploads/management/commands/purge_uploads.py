from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from uploads.deletions import describe
from uploads.errors import StorageAccessDenied
from uploads.services import purge_expired

# Failed keys listed one by one; beyond, a count.
LISTED = 20


class Command(BaseCommand):
    help = (
        "Delete upload tickets that expired unconfirmed, with their uploaded "
        "objects, and objects left at the incoming keys of confirmed tickets; "
        "retry the deletes of unused objects that failed before. "
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
        if report.sets_forgotten:
            self.stdout.write(
                f"Forgot the renditions of {report.sets_forgotten} image(s) no object uses."
            )
        retried = report.retried
        if dry_run and report.recorded:
            self.stdout.write(f"Would retry {report.recorded} recorded deletion(s).")
        elif retried.retried:
            self.stdout.write(
                f"Retried {retried.retried} recorded deletion(s): {len(retried.deleted)} "
                f"deleted, {len(retried.failing)} still failing."
            )
        if retried.kept:
            self.stdout.write(
                f"Kept {len(retried.kept)} object(s) recorded for deletion: images a row names "
                "again, and their renditions."
            )
        if retried.refused:
            self.stdout.write(
                f"Left {len(retried.refused)} key(s) recorded for deletion alone, none the app "
                "writes (outside media/, or spelled otherwise: see the log); records dropped."
            )

        problems = []
        if report.failed:
            self.write_failures([(f"Not deleted: {key}", error) for key, error in report.failed])
            problems.append(
                f"{len(report.failed)} object(s) could not be deleted; "
                "their tickets are kept for the next run."
            )
        if retried.failing:
            self.write_failures(
                [
                    (
                        f"Still not deleted: {record.key} ({record.reason}, "
                        f"{record.attempts} failed attempt(s) since "
                        f"{record.created_at:%Y-%m-%d %H:%M} UTC)",
                        record.error,
                    )
                    for record in retried.failing
                ]
            )
            problems.append(
                f"{len(retried.failing)} recorded deletion(s) keep failing; the task "
                "worker and the next run retry them."
            )
        if problems:
            raise CommandError(" ".join(problems))

    def write_failures(self, failures):
        for what, error in failures[:LISTED]:
            self.stderr.write(f"{what}: {describe(error)}")
        if len(failures) > LISTED:
            self.stderr.write(f"... and {len(failures) - LISTED} more.")
        if any(isinstance(error, StorageAccessDenied) for _, error in failures):
            self.stderr.write(
                f"Grant s3:DeleteObject on arn:aws:s3:::{settings.AWS_STORAGE_BUCKET_NAME}"
                "/media/sites/* (see the IAM policy in the README)."
            )
