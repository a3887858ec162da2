"""Structured logs: one JSON object per line on stderr, one line per admission decision.

A decision line carries who asked for what and what was decided, never the object itself: pod specs
hold environment variables, and environment variables hold secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from typing import Any, BinaryIO, TextIO

import orjson

DECISIONS = logging.getLogger("initgate.decision")
LOG = logging.getLogger("initgate")


# Field values come from requests (names, users, error texts): a mutating call arrives before the
# API server has validated names, so a client can send megabytes of generateName. No log line
# carries more than this of any one value.
FIELD_LIMIT = 512


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) <= FIELD_LIMIT:
            return value
        return f"{value[:FIELD_LIMIT]}…({len(value) - FIELD_LIMIT} more characters)"
    if isinstance(value, list):
        return [_clip(item) for item in value]
    return value


class JSONFormatter(logging.Formatter):
    """`{"time": ..., "level": ..., "logger": ..., "msg": ..., **fields}` on one line."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""
        self._milli = -1
        self._milli_stamp = ""
        self._head_stamp = ""
        self._head = b""

    def _time(self, created: float) -> str:
        # One strftime per second and one format per millisecond: the decision log writes a line
        # per admission request, several in a millisecond under load.
        milli = int(created * 1000)
        if milli != self._milli:
            second, fraction = divmod(milli, 1000)
            if second != self._second:
                self._second = second
                self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._milli, self._milli_stamp = milli, f"{self._stamp}.{fraction:03d}Z"
        return self._milli_stamp

    def encode(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        *,
        newline: bool = False,
    ) -> bytes:
        """One log line as UTF-8 JSON, long field values clipped."""
        entry = {
            "time": self._time(created),
            "level": level,
            "logger": logger,
            "msg": message,
            **fields,
        }
        option = orjson.OPT_APPEND_NEWLINE if newline else None
        line = orjson.dumps(entry, default=str, option=option)
        if len(line) <= FIELD_LIMIT:
            return line  # no value in it can be longer than the whole line
        for key, value in entry.items():
            kind = type(value)
            if kind is list or (kind is str and len(value) > FIELD_LIMIT):
                entry[key] = _clip(value)
        return orjson.dumps(entry, default=str, option=option)

    def decision(self, created: float, fields: dict[str, Any]) -> bytes:
        """`encode(created, "info", "initgate.decision", "decision", fields, newline=True)`, with
        the fields encoded on their own behind a head kept for the millisecond: the same bytes,
        without merging two dicts for every admission request. `fields` must not repeat a key of
        the head (the decision log's fields never do)."""
        body = orjson.dumps(fields, default=str, option=orjson.OPT_APPEND_NEWLINE)
        if not fields or len(body) > FIELD_LIMIT:
            return self.encode(created, "info", DECISIONS.name, "decision", fields, newline=True)
        stamp = self._time(created)
        if stamp != self._head_stamp:
            self._head_stamp = stamp
            self._head = orjson.dumps(
                {"time": stamp, "level": "info", "logger": DECISIONS.name, "msg": "decision"}
            )[:-1]
        return b"%b,%b" % (self._head, body[1:])

    def line(
        self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]
    ) -> str:
        """One log line (without its newline)."""
        return self.encode(created, level, logger, message, fields).decode()

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        fields = dict(fields) if isinstance(fields, dict) else {}
        if record.exc_info and record.exc_info[0] is not None:
            fields["error"] = self.formatException(record.exc_info)
        level = record.levelname.lower()
        return self.line(record.created, level, record.name, record.getMessage(), fields)


def configure(level: str = "info") -> None:
    """Send every log record (ours, uvicorn's) to stderr as JSON lines."""
    # Records need no thread or process: skipping their lookups makes each line cheaper.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    formatter = JSONFormatter()
    handler.setFormatter(formatter)
    _direct.formatter, _direct.stream = formatter, sys.stderr
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


class _Direct:
    """Where `configure` sends log lines, for `decision` to write to without a LogRecord."""

    formatter: JSONFormatter | None = None
    stream: TextIO | None = None
    flush_due: bool = False


_direct = _Direct()


def decision(fields: dict[str, Any]) -> None:
    """Log one admission decision. Once `configure` has run, and while nobody else listens to
    initgate's loggers, the line goes straight to the log stream in the very format of the other
    lines: the logging module's record machinery cost more than the rest of the decision's
    bookkeeping. Otherwise (tests, embedders with handlers of their own) it is a plain record.

    Inside the event loop, lines are written to the stream's byte buffer and flushed once per turn
    of the loop: the requests answered in one turn share one write to the log pipe, and no line
    waits longer than that turn."""
    if not DECISIONS.isEnabledFor(logging.INFO):
        return
    formatter, stream = _direct.formatter, _direct.stream
    if formatter is None or stream is None or DECISIONS.handlers or LOG.handlers:
        event(DECISIONS, "decision", **fields)
        return
    line = formatter.decision(time.time(), fields)
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(line.decode())
        stream.flush()
        return
    buffer.write(line)
    if _direct.flush_due:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        buffer.flush()
        return
    _direct.flush_due = True
    loop.call_soon(_flush, buffer)


def _flush(buffer: BinaryIO) -> None:
    _direct.flush_due = False
    with contextlib.suppress(OSError, ValueError):  # a closed or broken log pipe
        buffer.flush()
