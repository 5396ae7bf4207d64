"""Progress bars for management commands: tqdm on a terminal, nothing when output is redirected."""

import sys

from images.progress import NullProgress


def factory(stdout, force=None):
    """A `progress(desc, total, unit)` callable the services accept; bars only when stdout is a TTY."""
    stream = getattr(stdout, "_out", stdout)
    interactive = force if force is not None else bool(getattr(stream, "isatty", lambda: False)())
    if not interactive:
        return NullProgress
    from tqdm import tqdm

    def bar(desc, total=None, unit="it"):
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            unit_divisor=1024 if unit == "B" else 1000,
            file=stream if stream is not None else sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    return bar
