"""The previous app's images into the per-site layout: the options, and
the report. What moves and how is in ``legacy_media.plan``."""

import argparse
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from legacy_media.plan import Migration, collect_rows
from legacy_media.stores import Bucket, Folder
from uploads.conf import upload_settings
from uploads.s3 import s3_enabled


def site_option(value):
    """A site id, or ``default``: anything else names no site folder, and
    was a ``ValueError`` once ``--delete-source`` looked for that folder."""
    if value != "default" and not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a site id: {value!r}")
    return value


def limit_option(value):
    """A number of rows, 0 or more: the plan slices the rows with it, and a
    negative one would move all of them but that many."""
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise argparse.ArgumentTypeError(f"not a number of rows: {value!r}")
    return limit


class Command(BaseCommand):
    help = (
        "Move the images of every upload target (product photos, site logos) "
        "into the per-site layout, media/sites/<site>/<folder>/, and point "
        "each row at its new name; rows sharing a file there get a copy each. "
        "Safe on a live system, twice, or after a crash; sources are kept "
        "unless --delete-source is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the plan; write nothing to the store or the database.",
        )
        parser.add_argument(
            "--source-dir",
            help="A folder holding the old files (default: the bucket in S3 mode, "
            "MEDIA_ROOT otherwise). Its files go to the bucket streamed from disk.",
        )
        parser.add_argument(
            "--site", type=site_option, help="Only the rows of this site id ('default': no site)."
        )
        parser.add_argument(
            "--limit",
            type=limit_option,
            help="Move at most this many rows; run again for the rest.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            help='Parallel copies (default and at most UPLOADS["STORE_CONCURRENCY"], the '
            "calls to the store one process may have waiting at once).",
        )
        parser.add_argument(
            "--delete-source",
            action="store_true",
            help="Delete each old object this run or an earlier one copied, once no row "
            "refers to it and its copy is verified (with --dry-run: count them).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        workers = options["workers"] or upload_settings.STORE_CONCURRENCY
        if workers > upload_settings.STORE_CONCURRENCY:
            # The store's guard (uploads.guard) would refuse the calls beyond.
            raise CommandError(
                f'--workers {workers} is more than UPLOADS["STORE_CONCURRENCY"] '
                f"({upload_settings.STORE_CONCURRENCY}): raise that setting too."
            )
        source, destination = self.stores(options["source_dir"])
        self.stdout.write(f"From {source.describe()} to {destination.describe()}.")
        show_progress = not options["no_progress"] and sys.stderr.isatty()
        migration = Migration(
            source,
            destination,
            workers=workers,
            log=self.stdout.write if options["verbosity"] >= 2 else None,
            progress=self.draw_progress if show_progress else None,
        )
        dry_run = options["dry_run"]
        moves = migration.plan(
            collect_rows(site=options["site"]),
            limit=options["limit"],
            # A dry run from local files never needs the bucket's credentials.
            check_destination=not (dry_run and isinstance(source, Folder)),
        )
        if dry_run:
            for move in moves:
                rows = ", ".join(str(row) for row in move.rows)
                self.stdout.write(f"{move.source.name} -> {move.destination} ({rows})")
        else:
            migration.run(moves)
        if options["delete_source"]:
            migration.delete_sources(options["site"], dry_run=dry_run)
        self.write_report(migration.report, moves, dry_run, options["delete_source"])
        if not migration.report.ok:
            raise CommandError(
                f"{migration.report.missing} missing, {migration.report.failed} failed, "
                f"{migration.report.refused} refused."
            )

    def stores(self, source_dir):
        """The source and the destination: in S3 mode the bucket, fed by
        itself or by ``--source-dir``; otherwise ``MEDIA_ROOT``, fed by
        itself or by ``--source-dir``."""
        if s3_enabled():
            bucket = Bucket()
            return (Folder(source_dir) if source_dir else bucket), bucket
        return Folder(source_dir or settings.MEDIA_ROOT), Folder(settings.MEDIA_ROOT)

    def write_report(self, report, moves, dry_run, delete_source):
        for problem in report.problems:
            self.stderr.write(problem)
        if report.denied:
            self.stderr.write(
                f"The store refused {report.denied} request(s) (403). The credentials need "
                "s3:GetObject on the old keys (s3:DeleteObject too with --delete-source), "
                "s3:GetObject and s3:PutObject on media/sites/*, and s3:ListBucket on the "
                "bucket, without which a missing key reads as refused: see the IAM policy "
                "in the README."
            )
        if dry_run:
            rows = sum(len(move.rows) for move in moves)
            size = sum(move.source.size for move in moves)
            lines = [
                f"Would migrate: {rows} row(s), copying {len(moves)} object(s), {size} bytes",
            ]
        else:
            lines = [
                f"Migrated: {report.migrated} row(s)",
                f"Bytes copied: {report.bytes_copied} in {report.copies} object(s)",
            ]
        separated = (
            sum(len(move.rows) for move in moves if move.separates) if dry_run else report.separated
        )
        if separated:
            lines.append(f"Of them, rows that shared a copy in place, given their own: {separated}")
        lines += [
            f"Already in place: {report.in_place}",
            f"Missing: {report.missing}",
            f"Failed: {report.failed}",
        ]
        if report.refused:
            lines.append(
                f"Refused (in the per-site layout, outside the row's folder): {report.refused}"
            )
        if report.changed:
            lines.append(f"Changed during the migration (left alone): {report.changed}")
        if report.deferred:
            lines.append(f"Left for a later run (--limit): {report.deferred}")
        if delete_source:
            verb = "that would be deleted" if dry_run else "deleted"
            lines.append(f"Sources {verb}: {report.sources_deleted}")
        if report.sources_kept:
            lines.append(f"Sources kept (a copy is gone or differs): {report.sources_kept}")
        self.stdout.write("\n".join(lines))

    def draw_progress(self, done, total, width=30):
        filled = width * done // total if total else width
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        sys.stderr.flush()
