from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from uploads.conf import upload_settings
from uploads.deletions import describe
from uploads.errors import StorageAccessDenied
from uploads.management.listing import write_listed
from uploads.media import TEMPORARY_MAX_AGE
from uploads.services import purge_expired


class Command(BaseCommand):
    help = (
        "Delete upload tickets that expired unconfirmed, with their uploaded "
        "objects, and objects left at the incoming keys of confirmed tickets; "
        "queue again the renditions a task worker left pending when it died; "
        "retry the deletes of unused objects that failed before; delete the "
        "temporary files of writes that never ended (filesystem mode). "
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
        restarts = report.restarts
        if restarts.queued:
            died = sum(1 for _, makings in restarts.queued if makings)
            self.stdout.write(
                f"{'Would queue' if dry_run else 'Queued'} the renditions of "
                f"{len(restarts.queued)} image(s) again, left pending with no making started "
                f"for {lease_of()}"
                + (f": a worker stopped in the middle of {died} of them." if died else ".")
            )
            write_listed(
                self.stdout,
                (
                    f"Queued again: {original} ({makings} making(s) stopped)"
                    for original, makings in restarts.queued
                ),
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
        if report.temporaries:
            self.stdout.write(
                f"{'Would delete' if dry_run else 'Deleted'} {len(report.temporaries)} "
                "temporary file(s) left by a process stopped while writing them "
                f"({TEMPORARY_MAX_AGE // 60} min or more ago)."
            )
        if retried.refused:
            self.stdout.write(
                f"Left {len(retried.refused)} key(s) recorded for deletion alone, none the app "
                "writes (outside media/, or spelled otherwise: see the log); records dropped."
            )

        problems = []
        if restarts.given_up:
            write_listed(
                self.stderr,
                (
                    f"Renditions {'would be given' if dry_run else 'given'} up: {original}: "
                    f"{makings} makings in a row stopped the worker (out of memory?), "
                    "failed as interrupted."
                    for original, makings in restarts.given_up
                ),
            )
            problems.append(
                f"{len(restarts.given_up)} image(s) stopped the task worker each time their "
                "renditions were made (see the README: Renditions)."
            )
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
        write_listed(self.stderr, (f"{what}: {describe(error)}" for what, error in failures))
        if any(isinstance(error, StorageAccessDenied) for _, error in failures):
            self.stderr.write(
                f"Grant s3:DeleteObject on arn:aws:s3:::{settings.AWS_STORAGE_BUCKET_NAME}"
                "/media/sites/* (see the IAM policy in the README)."
            )


def lease_of():
    """``UPLOADS["RENDITION_LEASE"]`` in words: "60 min"."""
    seconds = upload_settings.RENDITION_LEASE
    return f"{seconds // 60} min" if seconds >= 60 and not seconds % 60 else f"{seconds} s"
