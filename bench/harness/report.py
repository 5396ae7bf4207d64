"""Collect samples per metric and server; print one table with every server and the ratios; write JSON.

Servers (labels): Berth on PostgreSQL ("berth"), distribution 2.8.2 ("reference"), and when the run has
them Berth on PostgreSQL under granian ("berth-granian"), Berth on SQLite ("berth-sqlite"), Berth on either
under gunicorn's gthread worker ("berth-gthread", "berth-sqlite-gthread"; asgi is the shipped worker, so
"berth" and "berth-sqlite" run asgi) and distribution 3.1.1 ("dist-3.1.1").
Targets are judged against distribution 3.1.1 when it ran, else against 2.8.2.
"""

import json
import statistics

MiB = 1 << 20
LABELS = ("berth", "reference")  # always there; OPTIONAL ones only when the run has them
OPTIONAL = ("berth-granian", "berth-sqlite", "berth-gthread", "berth-sqlite-gthread", "dist-3.1.1")
COLUMNS = {
    "berth": "berth PG",
    "berth-granian": "berth granian PG",
    "berth-sqlite": "berth SQLite",
    "berth-gthread": "berth gthread PG",
    "berth-sqlite-gthread": "berth gthread SQLite",
    "reference": "dist 2.8.2",
    "dist-3.1.1": "dist 3.1.1",
}
# (name, numerator, denominator): printed when both ran
RATIOS = (
    ("PG/2.8.2", "berth", "reference"),
    ("PG/3.1.1", "berth", "dist-3.1.1"),
    ("SQLite/3.1.1", "berth-sqlite", "dist-3.1.1"),
    ("SQLite/PG", "berth-sqlite", "berth"),
    ("gthread PG/3.1.1", "berth-gthread", "dist-3.1.1"),
    ("gthread SQLite/3.1.1", "berth-sqlite-gthread", "dist-3.1.1"),
    ("gthread/asgi PG", "berth-gthread", "berth"),
    ("granian/3.1.1", "berth-granian", "dist-3.1.1"),
    ("granian/gunicorn", "berth-granian", "berth"),
)


class Results:
    def __init__(self, labels=LABELS):
        self.labels = tuple(labels)
        self.metrics = {}  # name -> {"unit", "better", "group", "target", "samples": {label: [..]}, "extra": {}}
        self.memory = {}  # phase name -> {label: [phase results]}
        self.meta = {}
        self.notes = []

    def define(self, name, unit, better, group, target=None, title=None):
        if name not in self.metrics:
            self.metrics[name] = {
                "title": title or name,
                "unit": unit,
                "better": better,
                "group": group,
                "target": target,
                "samples": {label: [] for label in self.labels},
                "extra": {label: [] for label in self.labels},
            }
        return self.metrics[name]

    def add(self, name, label, value, extra=None, **definition):
        metric = self.define(name, **definition) if definition else self.metrics[name]
        metric["samples"][label].append(value)
        if extra is not None:
            metric["extra"][label].append(extra)

    def add_memory(self, phase, label, result, category):
        entry = self.memory.setdefault(phase, {"category": category, **{k: [] for k in self.labels}})
        entry[label].append(result)

    # ------------------------------------------------------------------ summary

    def summary(self):
        rows = []
        judge = "dist-3.1.1" if "dist-3.1.1" in self.labels else "reference"
        for name, m in self.metrics.items():
            medians = {}
            for label in self.labels:
                values = [v for v in m["samples"][label] if v is not None]
                medians[label] = statistics.median(values) if values else None
            ratios = {
                title: _ratio(medians[a], medians[b]) for title, a, b in RATIOS if a in self.labels and b in self.labels
            }
            ratio = _ratio(medians["berth"], medians[judge])
            met = _met(m["target"], medians["berth"], ratio)
            rows.append(
                {"name": name, **m, "median": medians, "ratio": ratio, "ratios": ratios, "met": met, "judge": judge}
            )
        return rows

    def to_json(self):
        return {"meta": self.meta, "notes": self.notes, "metrics": self.summary(), "memory_phases": self.memory}


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def _met(target, value, ratio):
    """target: ("ratio>=", x) | ("<=", x) | ("<", x) | None."""
    if not target:
        return None
    kind, bound = target
    if kind == "ratio>=":
        return None if ratio is None else ratio >= bound
    if value is None:
        return None
    return value <= bound if kind == "<=" else value < bound


def _fmt(value, unit):
    if value is None:
        return "n/a"
    if unit in ("MiB/s", "req/s") and value >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _target_text(target, unit, judge="reference"):
    if not target:
        return ""
    kind, bound = target
    if kind == "ratio>=":
        return f"PG/{'3.1.1' if judge == 'dist-3.1.1' else '2.8.2'} >= {bound:g}"
    return f"berth {'<=' if kind == '<=' else '<'} {bound:g} {unit}"


def table(results, markdown=False):
    rows = results.summary()
    ratio_titles = list(rows[0]["ratios"]) if rows else []
    header = ["metric", "unit", "better", *(COLUMNS[label] for label in results.labels), *ratio_titles, "target", "met"]
    lines = []
    body = []
    group = None
    for row in rows:
        if row["group"] != group:
            group = row["group"]
            body.append(("group", group))
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        body.append(
            (
                "row",
                [
                    row["title"],
                    row["unit"],
                    "higher" if row["better"] == "higher" else "lower",
                    *(_fmt(row["median"][label], row["unit"]) for label in results.labels),
                    *("n/a" if v is None else f"{v:.2f}" for v in row["ratios"].values()),
                    _target_text(row["target"], row["unit"], row["judge"]),
                    met,
                ],
            )
        )
    numeric = range(3, len(header) - 2)
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] * 3 + ["---:"] * len(numeric) + ["---"] * 2) + "|")
        for kind, value in body:
            if kind == "group":
                lines.append(f"| **{value}** |" + " |" * (len(header) - 1))
            else:
                lines.append("| " + " | ".join(value) + " |")
        return "\n".join(lines)
    widths = [len(h) for h in header]
    for kind, value in body:
        if kind == "row":
            widths = [max(w, len(v)) for w, v in zip(widths, value, strict=True)]
    fmt = "  ".join(f"{{:{'>' if i in numeric else '<'}{w}}}" for i, w in enumerate(widths))
    lines.append(fmt.format(*header))
    lines.append("  ".join("-" * w for w in widths))
    for kind, value in body:
        if kind == "group":
            lines.append(f"[{value}]")
        else:
            lines.append(fmt.format(*value))
    return "\n".join(lines)


def write_json(results, path):
    with open(path, "w") as fh:
        json.dump(results.to_json(), fh, indent=1, default=str)
