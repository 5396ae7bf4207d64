"""Byte sizes as operators write them (10GiB, 500MB, 1.5 TiB, 1048576) and as people read them. Pure."""

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


MAX_BYTES = 2**63 - 1  # the database column's range


def parse(text):
    """Bytes from '10GiB', '10G' (binary), '500MB' (decimal), '1048576'; ValueError for anything else."""
    if isinstance(text, int):
        value = text
    else:
        if str(text).strip().startswith("-"):
            raise ValueError("a size can't be negative")
        match = _SIZE.match(str(text))
        if not match:
            raise ValueError(f"invalid size {text!r} (use e.g. 500MiB, 10GiB, 2TB or a number of bytes)")
        number, unit = float(match.group(1)), match.group(2).lower()
        base = 1000 if unit.endswith("b") and len(unit) == 2 else 1024
        value = int(number * base ** _POWERS[unit[:1] if unit[:1] in _POWERS else ""])
    if value < 0:
        raise ValueError("a size can't be negative")
    if value > MAX_BYTES:
        raise ValueError("a size can be at most 8 EiB")
    return value


def human(n):
    """'9.8 GiB', '10 GiB', '512 B'."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{n:.0f} B"
            text = f"{n:.1f}".removesuffix(".0")
            return f"{text} {unit}"
        n /= 1024
    return f"{n} B"
