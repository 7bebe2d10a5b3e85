"""
Log records as JSON lines: one object per line on stdout, which log
collectors (Docker, journald, Loki, CloudWatch) read without parsing rules.

Fields passed with ``extra=`` become fields of the object, so that
``logger.info("ticket", extra={"site": 3, "outcome": "issued"})`` can be
searched by site and outcome.
"""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else came from ``extra=``.
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
