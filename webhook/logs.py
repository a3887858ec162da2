"""Structured logs: one JSON object per line on stderr, one line per admission decision.

A decision line carries who asked for what and what was decided, never the object itself: pod specs
hold environment variables, and environment variables hold secrets.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

DECISIONS = logging.getLogger("initgate.decision")
LOG = logging.getLogger("initgate")


class JSONFormatter(logging.Formatter):
    """`{"time": ..., "level": ..., "logger": ..., "msg": ..., **fields}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "info") -> None:
    """Send every log record (ours, uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # One line per decision replaces the access log, which would say less, twice as often.
    logging.getLogger("uvicorn.access").disabled = True


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `message` with structured `fields` (they become keys of the JSON line)."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})
