"""What the upload app's commands list, one line an item, on their output."""

# Items (keys, images) named one by one; beyond, a count: a run over
# thousands of them, from cron, mails a screenful rather than thousands of
# lines, and the count says how far it goes.
LISTED = 20


def write_listed(stream, lines):
    """Write the first ``LISTED`` of ``lines`` to ``stream`` (a command's
    ``stdout`` or ``stderr``), then how many more there are."""
    lines = list(lines)
    for line in lines[:LISTED]:
        stream.write(line)
    if len(lines) > LISTED:
        stream.write(f"... and {len(lines) - LISTED} more.")
