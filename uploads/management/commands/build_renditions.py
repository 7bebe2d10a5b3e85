from collections import Counter

from django.core.management.base import BaseCommand, CommandError, no_translations

from uploads import renditions
from uploads.management.listing import write_listed
from uploads.models import RenditionSet

State = RenditionSet.State
Error = RenditionSet.Error


class Command(BaseCommand):
    help = (
        "Make the renditions of existing images, here rather than in the task "
        "worker: after the migration that adds them (--missing, the default), "
        "after a change of sizes (--all), or once what failed them is mended "
        "(--failed: more memory, a higher pixel limit, an original put back)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--missing",
            action="store_true",
            help="Only images with no renditions yet, or still pending (the default).",
        )
        which.add_argument("--all", action="store_true", help="Every image, made again.")
        which.add_argument(
            "--failed",
            nargs="*",
            choices=Error.values,
            metavar="CODE",
            help=(
                "Only images whose renditions failed, made again: all of them, or those "
                f"failed with the codes given ({', '.join(Error.values)}); for example "
                "--failed interrupted once the task worker has more memory. Those that fail "
                "again are listed, and the command exits non-zero."
            ),
        )

    @no_translations  # The error codes' labels, in the output's language.
    def handle(self, *args, all, failed, **options):
        missing = not all and failed is None
        names = list(renditions.originals(missing=missing, failed=failed))
        outcomes = Counter()
        failures = []
        progress = Progress(self.stderr, len(names))
        for name, kind in names:
            renditions.reset(name, kind)
            state = renditions.make(name, attempt=renditions.ATTEMPTS)
            if state is not None:
                outcomes[state] += 1
            if state == State.FAILED:
                failures.append((name, error_code_of(name)))
            progress.step()
        progress.end()
        why = ", ".join(f"{count} {code}" for code, count in by_code(failures))
        self.stdout.write(
            f"{len(names)} image(s): {outcomes[State.READY]} ready, "
            f"{outcomes[State.FAILED]} failed{f' ({why})' if why else ''}, "
            f"{outcomes[State.PENDING]} left pending."
        )
        problems = []
        if failed is not None and failures:
            # Asked to mend them: those failed again are not mended.
            write_listed(
                self.stderr,
                (
                    f"Failed again: {name}: "
                    + (f"{code} ({LABELS[code]})" if code in LABELS else "no code")
                    for name, code in failures
                ),
            )
            problems.append(
                f"{len(failures)} image(s) failed again ({why}): what failed them is still "
                "there (see the README: Renditions)."
            )
        if outcomes[State.PENDING]:
            problems.append(
                f"{outcomes[State.PENDING]} image(s) could not be read or written (see the "
                "log); run the command again once the store answers."
            )
        if problems:
            raise CommandError(" ".join(problems))


LABELS = dict(Error.choices)


def by_code(failures):
    """``(code, count)`` of ``failures``, in the order of the codes."""
    counts = Counter(code or "no code" for _, code in failures)
    order = {code: position for position, code in enumerate(Error.values)}
    return sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))


def error_code_of(name):
    """Why the set of ``name`` failed; a read, for the few that fail."""
    sets = RenditionSet.objects.filter(original=name)
    return sets.values_list("error_code", flat=True).first() or ""


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
