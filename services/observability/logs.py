"""Structured JSON logs on stderr; personal data never enters a log record.

Imports the standard library only.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class _ServiceHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs, known again by its `_intern_match` mark."""

    _intern_match = True


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log record to stderr as JSON at `level` (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_intern_match", False):
            root.removeHandler(handler)
    handler = _ServiceHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
