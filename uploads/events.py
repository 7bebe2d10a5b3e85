"""
One log line per ticket request and per confirm, for operators: which site,
what kind and size, and how it ended (``issued``, ``confirmed``, or the
error code the client got). With a JSON log formatter the fields are
searchable; in text logs they are in the message.
"""

import logging
import time
from contextlib import contextmanager

from uploads.errors import UploadError

logger = logging.getLogger("uploads.events")

FIELDS = ("site", "kind", "object_id", "size", "ticket", "user", "outcome", "duration_ms")


@contextmanager
def recorded(event, **fields):
    """Log ``event`` once the block ends. The block fills in what it learns
    (``site``, ``ticket``...) and sets ``outcome``; an upload error sets its
    code, anything else ``server_error``."""
    record = dict(fields)
    started = time.monotonic()
    level = logging.INFO
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
        record["duration_ms"] = round((time.monotonic() - started) * 1000)
        entry = {name: record.get(name) for name in FIELDS}
        text = " ".join(f"{name}={value}" for name, value in entry.items() if value is not None)
        logger.log(level, "%s %s", event, text, extra={"event": event, **entry})
