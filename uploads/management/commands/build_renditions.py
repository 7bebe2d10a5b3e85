from django.core.management.base import BaseCommand, CommandError

from uploads import renditions
from uploads.models import RenditionSet

State = RenditionSet.State


class Command(BaseCommand):
    help = (
        "Make the renditions of existing images, here rather than in the task "
        "worker: after the migration that adds them (--missing, the default), "
        "or after a change of sizes (--all)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--missing",
            action="store_true",
            help="Only images with no renditions yet, or still pending (the default).",
        )
        which.add_argument("--all", action="store_true", help="Every image, made again.")

    def handle(self, *args, all, **options):
        names = list(renditions.originals(missing=not all))
        outcomes = dict.fromkeys(State.values, 0)
        progress = Progress(self.stderr, len(names))
        for name, kind in names:
            renditions.reset(name, kind)
            state = renditions.make(name, attempt=renditions.ATTEMPTS)
            if state is not None:
                outcomes[state] += 1
            progress.step()
        progress.end()
        self.stdout.write(
            f"{len(names)} image(s): {outcomes[State.READY]} ready, "
            f"{outcomes[State.FAILED]} failed (not decodable), "
            f"{outcomes[State.PENDING]} left pending."
        )
        if outcomes[State.PENDING]:
            raise CommandError(
                f"{outcomes[State.PENDING]} image(s) could not be read or written (see the "
                "log); run the command again once the store answers."
            )


class Progress:
    """A progress bar on a terminal, a line per tenth otherwise (logs)."""

    WIDTH = 30

    def __init__(self, stream, total):
        self.stream, self.total, self.done = stream, total, 0
        self.tty = stream.isatty()

    def step(self):
        self.done += 1
        if self.tty:
            filled = self.WIDTH * self.done // self.total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total}", ending="")
            self.stream.flush()
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            self.stream.write(f"{self.done}/{self.total} image(s)")

    def end(self):
        if self.tty and self.total:
            self.stream.write("")
