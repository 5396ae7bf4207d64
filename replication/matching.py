"""Which repositories and tags a rule takes, and where they go. Pure functions."""

import fnmatch
import re

_SPLIT = re.compile(r"[\s,]+")
_REFERRERS_TAG = re.compile(r"^sha256-[0-9a-f]{64}$")  # the referrers tag schema: copied with its subject


def patterns(text):
    return [p for p in _SPLIT.split(text or "") if p]


def is_glob(pattern):
    return any(c in pattern for c in "*?[")


def matches(name, text):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns(text))


def select_tags(tags, pattern, keep_last=None):
    """`tags` (oldest first) matching `pattern`; the newest `keep_last` of them when set."""
    chosen = [t for t in tags if matches(t, pattern or "*") and not _REFERRERS_TAG.match(t)]
    return chosen[-keep_last:] if keep_last else chosen


def destination(name, namespace):
    """`team/app` with namespace `dr` -> `dr/app`; `app` -> `dr/app`; no namespace: unchanged."""
    if not namespace:
        return name
    rest = name.split("/", 1)[1] if "/" in name else name
    return f"{namespace.strip('/')}/{rest}"
