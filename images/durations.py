"""Durations written the way operators type them: 90, 90s, 15m, 2h, 7d, 1h30m. Pure."""

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse(text):
    """A timedelta from '2h', '30m', '0s', '1d12h' or plain seconds; ValueError otherwise."""
    raw = str(text).strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration")
    seconds, pos = 0.0, 0
    for match in _PART.finditer(raw):
        if match.start() != pos or (match.group(2) == "" and match.end() != len(raw)):
            raise ValueError(f"invalid duration {text!r} (use e.g. 90s, 15m, 2h, 7d)")
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw):
        raise ValueError(f"invalid duration {text!r} (use e.g. 90s, 15m, 2h, 7d)")
    return timedelta(seconds=seconds)


def format(delta):  # noqa: A001 - the module is used as durations.format
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
