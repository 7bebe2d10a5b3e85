from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from uploads.diagnostics import FAILED, PASSED, get_diagnosis


class Command(BaseCommand):
    help = (
        "Check the media store as the app and its clients use it: settings, "
        "credentials, permissions, CORS for the pages' origins, that upload "
        "policies are enforced, that the clients' address leads to the same "
        "store, and a write, read and delete under media/sites/<id>/. Exits "
        "non-zero on failure."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--site",
            help="The site folder to write in (default: the shared 'default' folder).",
        )
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            help="An origin whose pages upload (repeatable; default: CSRF_TRUSTED_ORIGINS).",
        )

    def handle(self, *args, site=None, origins=None, **options):
        site = None if site in (None, "default") else site
        origins = origins or list(getattr(settings, "CSRF_TRUSTED_ORIGINS", []))
        diagnosis = get_diagnosis(site=site, origins=origins)
        self.stdout.write(f"Mode: {diagnosis.mode()}")
        for name, value in diagnosis.settings_in_use():
            self.stdout.write(f"  {name:<26} {value}")
        failures = 0
        for result in diagnosis.run():
            style = {PASSED: self.style.SUCCESS, FAILED: self.style.ERROR}.get(
                result.status, self.style.WARNING
            )
            self.stdout.write(style(f"[{result.status}]") + f" {result.name}: {result.message}")
            if result.fix:
                self.stdout.write(f"       Fix: {result.fix}")
            if result.check:
                self.stdout.write(f"       Check: {result.check}")
            failures += result.failed
        if failures:
            raise CommandError(f"{failures} check(s) failed.")
        self.stdout.write("The store is ready.")
