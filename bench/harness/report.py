"""Collect samples per metric and server; print one table with both registries and the ratio; write JSON."""

import json
import statistics

MiB = 1 << 20
LABELS = ("berth", "reference")


class Results:
    def __init__(self):
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
                "samples": {label: [] for label in LABELS},
                "extra": {label: [] for label in LABELS},
            }
        return self.metrics[name]

    def add(self, name, label, value, extra=None, **definition):
        metric = self.define(name, **definition) if definition else self.metrics[name]
        metric["samples"][label].append(value)
        if extra is not None:
            metric["extra"][label].append(extra)

    def add_memory(self, phase, label, result, category):
        entry = self.memory.setdefault(phase, {"category": category, **{k: [] for k in LABELS}})
        entry[label].append(result)

    # ------------------------------------------------------------------ summary

    def summary(self):
        rows = []
        for name, m in self.metrics.items():
            medians = {}
            for label in LABELS:
                values = [v for v in m["samples"][label] if v is not None]
                medians[label] = statistics.median(values) if values else None
            b, r = medians["berth"], medians["reference"]
            ratio = b / r if b is not None and r not in (None, 0) else None
            rows.append({"name": name, **m, "median": medians, "ratio": ratio, "met": _met(m["target"], b, ratio)})
        return rows

    def to_json(self):
        return {"meta": self.meta, "notes": self.notes, "metrics": self.summary(), "memory_phases": self.memory}


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


def _target_text(target, unit):
    if not target:
        return ""
    kind, bound = target
    if kind == "ratio>=":
        return f"ratio >= {bound:g}"
    return f"berth {'<=' if kind == '<=' else '<'} {bound:g} {unit}"


def table(results, markdown=False):
    rows = results.summary()
    header = ["metric", "unit", "better", "berth", "reference", "berth/ref", "target", "met"]
    lines = []
    body = []
    group = None
    for row in rows:
        if row["group"] != group:
            group = row["group"]
            body.append(("group", group))
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        body.append(
            (
                "row",
                [
                    row["title"],
                    row["unit"],
                    "higher" if row["better"] == "higher" else "lower",
                    _fmt(row["median"]["berth"], row["unit"]),
                    _fmt(row["median"]["reference"], row["unit"]),
                    ratio,
                    _target_text(row["target"], row["unit"]),
                    met,
                ],
            )
        )
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---"] * 2 + ["---:"] * 3 + ["---"] * 2) + "|")
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
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 2, 6, 7) else '>'}{w}}}" for i, w in enumerate(widths))
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
