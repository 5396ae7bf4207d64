"""Pool several benchmark runs into one Markdown table of Berth ÷ reference for every target row.

    python3 bench/pool.py bench/out/run1.json bench/out/run2.json ...

Columns: each run's ratio (its medians, as in its own table); the median of all single repetitions'
ratios and how many Berth won; the same for each pair of repetitions that ran in opposite orders
(Berth first, then the reference first), as the geometric mean of the pair's two ratios, which
cancels an advantage of going first or second (a two-period crossover); and the median ratio of the
repetitions where Berth went first and of those where it went second, which shows that advantage.
Ratios are oriented so that above 1.0 means Berth did better.
"""

import json
import math
import statistics
import sys


def ratios(metric):
    """Berth ÷ reference per repetition, above 1.0 when Berth did better."""
    pairs = zip(metric["samples"]["berth"], metric["samples"]["reference"], strict=False)
    return [b / r if metric["better"] == "higher" else r / b for b, r in pairs if b and r]


def won(values):
    return f"{statistics.median(values):.2f} ({sum(v > 1 for v in values)}/{len(values)})"


def row(name, runs):
    cells, single, crossed, first, second = [], [], [], [], []
    for run in runs:
        metric = next((m for m in run["metrics"] if m["name"] == name), None)
        if metric is None or not ratios(metric):
            cells.append("")
            continue
        cells.append(f"{metric['ratio']:.2f}")
        per_rep = ratios(metric)  # repetition 0, 2, ... ran Berth first (bench/run.py, Bench.order)
        single += per_rep
        first += per_rep[0::2]
        second += per_rep[1::2]
        crossed += [math.sqrt(a * b) for a, b in zip(per_rep[0::2], per_rep[1::2], strict=False)]
    order = f"{statistics.median(first):.2f} / {statistics.median(second):.2f}" if second else ""
    return cells + [won(single), won(crossed) if crossed else "", order]


def table(runs):
    names = [m["name"] for m in runs[0]["metrics"] if (m.get("target") or [None])[0] == "ratio>="]
    titles = {m["name"]: m["title"] for m in runs[0]["metrics"]}
    header = [run["meta"].get("date", "?")[11:16] for run in runs]
    header += ["per repetition (won)", "per AB+BA pair (won)", "Berth first / second"]
    lines = ["| row | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(header)]
    for name in names:
        lines.append(f"| {titles[name]} | " + " | ".join(row(name, runs)) + " |")
    return "\n".join(lines)


def main(paths):
    if not paths:
        sys.exit(__doc__)
    runs = []
    for path in paths:
        with open(path) as fh:
            runs.append(json.load(fh))
    print(table(runs))


if __name__ == "__main__":
    main(sys.argv[1:])
