"""Keyset (cursor) pages: a page is "the N rows after (or before) this key", read straight off an index.

A deep page costs what the first page costs, and a link stays on the same rows when rows are added or
removed before it (an offset would shift). Every key ends with the primary key, so keys are unique, and
all its columns go the same direction, so `(a, b) > (x, y)` is one index range on PostgreSQL and SQLite.

The cursor in links is the key of the last (next) or first (previous) row shown, as URL-safe base64 JSON;
a cursor that does not decode is read as the first page (`KeysetPage.invalid` tells the caller).
"""

import base64
import binascii
import json
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import F, Field, Func, Value


class Row(Func):
    """SQL row constructor: (a, b, c); compared with another Row it compares in order, as a tuple."""

    function = ""
    template = "(%(expressions)s)"

    def __init__(self, *expressions):
        super().__init__(*expressions, output_field=Field())


@dataclass
class KeysetPage:
    object_list: list
    has_next: bool = False
    has_previous: bool = False
    next_cursor: str = ""
    previous_cursor: str = ""
    invalid: bool = False
    extra: dict = field(default_factory=dict)

    def has_other_pages(self):
        return self.has_next or self.has_previous


def encode(direction, values):
    raw = json.dumps([direction, [v.isoformat() if hasattr(v, "isoformat") else v for v in values]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor, fields):
    """("n" | "p", [values as `fields` read them]) or None when `cursor` is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, values = json.loads(raw)
        if direction not in ("n", "p") or not isinstance(values, list) or len(values) != len(fields):
            return None
        return direction, [f.to_python(v) for f, v in zip(fields, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, ValidationError):
        return None


def page(qs, keys, cursor, per_page, descending=False):
    """One page of `qs` ordered by `keys` ([(alias, expression, model field)], the last one unique).

    `expression` is None for a plain field (the alias is its name)."""
    annotations = {alias: expr for alias, expr, _ in keys if expr is not None}
    qs = qs.annotate(**annotations) if annotations else qs
    names = [alias for alias, _, _ in keys]
    decoded = decode(cursor, [f for _, _, f in keys])
    backwards = decoded is not None and decoded[0] == "p"
    reverse = descending != backwards
    qs = qs.order_by(*[F(n).desc() if reverse else F(n).asc() for n in names])
    if decoded is not None:
        lookup = "lt" if reverse else "gt"
        here = Row(*[F(n) for n in names])
        qs = qs.alias(_keyset=here).filter(**{f"_keyset__{lookup}": Row(*[Value(v) for v in decoded[1]])})
    rows = list(qs[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    result = KeysetPage(rows, invalid=bool(cursor) and decoded is None)
    result.has_next = more if not backwards else True
    result.has_previous = (decoded is not None) if not backwards else more
    if rows:
        result.next_cursor = encode("n", [getattr(rows[-1], n) for n in names])
        result.previous_cursor = encode("p", [getattr(rows[0], n) for n in names])
    return result
