"""Statistics and Markdown tables shared by the benchmarks.

A benchmark measures, then builds ``Table`` objects whose rows compare Codenode with the
incumbent; ``Table.markdown`` renders one for docs/benchmarks.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

COLUMNS = ("measure", "Codenode", "ipykernel", "Codenode/ipykernel", "target")


def median(values: Sequence[float]) -> float:
    """The median of some measurements."""
    return statistics.median(values)


def percentile(values: Sequence[float], pct: int) -> float:
    """The pct-th percentile (1..99), interpolated between the nearest measurements."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def number(value: float) -> str:
    """A measurement with as many digits as are worth reading."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def compare(measure: str, ours: float, theirs: float, target: float | None = None) -> list[str]:
    """One table row: both values, their ratio and, if there is one, whether it meets target."""
    ratio = ours / theirs if theirs else float("inf")
    verdict = ""
    if target is not None:
        verdict = f"≤ {target:g} ({'met' if ratio <= target else 'MISSED'})"
    return [measure, number(ours), number(theirs), number(ratio), verdict]


@dataclass
class Table:
    """A titled Markdown table with notes printed under it."""

    title: str
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: Sequence[str] = COLUMNS

    def markdown(self) -> str:
        """The table as Markdown: a heading, the table, then its notes."""
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(self.notes)
        return "\n".join(lines) + "\n"


def machine_header() -> str:
    """What the numbers were measured on, as Markdown to print above the tables."""
    cpus = os.cpu_count() or 1
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            "## Codenode benchmarks",
            "",
            f"- date: {now}",
            f"- machine: {platform.machine()}, {cpus} CPUs, {platform.platform()}",
            f"- python: {platform.python_version()} ({sys.executable})",
            f"- load average before the run: {load}",
            f"- times are wall-clock on a shared {cpus}-core machine: expect noise of a few "
            "per cent; compare ratios rather than absolute numbers.",
            "",
        ]
    )
