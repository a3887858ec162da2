"""Durations as Kubernetes tools write them: `30s`, `5m`, `1h`, `1h30m`, `500ms`."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float:
    """Seconds in `value`; raises ValueError (argparse shows it) for anything else."""
    text = value.strip()
    position, seconds = 0, 0.0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ValueError(f"{value!r} is not a duration such as 30s, 5m or 1h30m")
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration such as 30s, 5m or 1h30m")
    return seconds
