"""
One log line per ticket request and per confirm, for operators: which site,
what kind and size, how it ended (``issued``, ``confirmed``, or the error
code the client got), how long it took, and how much of that it waited on
the store (``store_ms``: a confirm's reads and copy; a slow store shows
there before anywhere else). With a JSON log formatter the fields are
searchable; in text logs they are in the message.
"""

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from uploads.errors import UploadError

logger = logging.getLogger("uploads.events")

FIELDS = (
    "site",
    "kind",
    "object_id",
    "size",
    "ticket",
    "user",
    "outcome",
    "duration_ms",
    "store_ms",
)

# The record of the event being recorded in this thread (or task), which
# ``waiting`` adds to.
current = ContextVar("uploads_event", default=None)


@contextmanager
def recorded(event, **fields):
    """Log ``event`` once the block ends. The block fills in what it learns
    (``site``, ``ticket``...) and sets ``outcome``; an upload error sets its
    code, anything else ``server_error``."""
    record = dict(fields)
    started = time.monotonic()
    level = logging.INFO
    token = current.set(record)
    try:
        yield record
    except UploadError as error:
        record["outcome"] = error.code
        level = logging.WARNING if error.status < 500 else logging.ERROR
        raise
    except Exception:
        record["outcome"] = "server_error"
        level = logging.ERROR
        raise
    finally:
        current.reset(token)
        record["duration_ms"] = round((time.monotonic() - started) * 1000)
        if "store_ms" in record:
            record["store_ms"] = round(record["store_ms"], 1)
        entry = {name: record.get(name) for name in FIELDS}
        text = " ".join(f"{name}={value}" for name, value in entry.items() if value is not None)
        logger.log(level, "%s %s", event, text, extra={"event": event, **entry})


@contextmanager
def waiting(field):
    """Add the block's time, in milliseconds, to ``field`` of the event
    being recorded, if any (``store_ms``: around each call to the store)."""
    record = current.get()
    started = time.monotonic()
    try:
        yield
    finally:
        if record is not None:
            spent = (time.monotonic() - started) * 1000
            record[field] = record.get(field, 0) + spent
