from django.core.management.base import BaseCommand

from uploads.services import purge_expired


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
