"""The tables of bench/templates.py: start, idle memory and capacity of one engine type, each
Codenode mode in a column beside ipykernel, with the sandbox's cost as a ratio."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from bench.engine import SETTLE_SECONDS
from bench.report import Table, median, number, percentile
from bench.template_measures import (
    BATCH,
    CODE,
    EXEC_SANDBOXED,
    FORKED,
    IPYKERNEL,
    KEY_PREFIX,
    MODES,
    SANDBOXED,
    UNSANDBOXED_SUFFIX,
    Crowd,
    Kind,
    Measures,
    Mode,
    Scale,
)
from codenode.backend.enginetype import EngineType

BUDGET_MIB = 8192  # the memory the capacity rows fill: 8 GiB
MS = 1000.0
NONE = "—"
CONTENDERS = (*(mode.name for mode in MODES), IPYKERNEL)
RATIOS = (  # (numerator, denominator, heading)
    (SANDBOXED.name, FORKED.name, "sandbox/no sandbox, forked"),
    (SANDBOXED.name, EXEC_SANDBOXED.name, "forked/exec, sandbox"),
    (SANDBOXED.name, IPYKERNEL, "forked sandbox/ipykernel"),
)
# The processes of a sandboxed engine, the listed pid first (codenode/engine/sandbox.py).
PROCESSES = {
    SANDBOXED.name: ("init", "engine"),
    EXEC_SANDBOXED.name: ("launcher", "init", "engine"),
}
COLUMNS = ("measure", *CONTENDERS, *(heading for _, _, heading in RATIOS), "target")
Values = dict[str, float]


def ratio(values: Values, ours: str, theirs: str) -> str:
    """ours / theirs, or a dash where either is missing."""
    if ours not in values or theirs not in values:
        return NONE
    return number(values[ours] / values[theirs]) if values[theirs] else "inf"


def row(
    measure: str,
    values: Values,
    target: str = "",
    show: Callable[[float], str] = number,
    projected: Collection[str] = (),
    ratios: bool = True,
) -> list[str]:
    """A row: each contender (a dash for one not measured), the ratios, the target."""
    cells = [measure]
    for name in CONTENDERS:
        cell = show(values[name]) if name in values else NONE
        cells.append(f"{cell} (projected)" if name in projected and name in values else cell)
    for ours, theirs, _ in RATIOS:
        cells.append(ratio(values, ours, theirs) if ratios else NONE)
    return [*cells, target]


def whole(value: float) -> str:
    """A count, with thousands separated."""
    return f"{int(value):,}"


def verdicts(values: Values, targets: tuple[tuple[Mode, float], ...], unit: str) -> str:
    """The targets of a row, and whether each mode meets its own."""
    said = []
    for mode, target in targets:
        if mode.name in values:
            met = "met" if values[mode.name] <= target else "MISSED"
            said.append(f"{short(mode)} ≤ {target:g} {unit} ({met})")
    return "; ".join(said)


def short(mode: Mode) -> str:
    """A mode's name without 'Codenode '."""
    return short_name(mode.name)


def short_name(name: str) -> str:
    """A contender's name without 'Codenode '."""
    return name.removeprefix("Codenode ")


def common_notes(m: Measures) -> list[str]:
    """What every table was measured with."""
    with_cgroups = (
        f"each Codenode engine in its own cgroups: {m.cgroups}"
        if m.cgroups
        else "no cgroups writable here: engines limited by setrlimit alone"
    )
    left = (
        "none left running at the end"
        if not m.leftovers
        else f"{m.leftovers} processes still alive at the end, killed by pid"
    )
    return [
        f"In-process backend objects (Sandboxes, Templates, Engine), no HTTP; {with_cgroups}; "
        f"{m.workspace_count:,} workspaces made ({KEY_PREFIX}1, {KEY_PREFIX}2, ..., one per "
        f"sandboxed engine, each its own uid), {left}. Absolute times carry this machine's "
        "noise: compare ratios from the same run."
    ]


def start_table(kind: Kind, engine_type: EngineType, scale: Scale, m: Measures) -> Table:
    """Start to the first 2+2 result, per contender."""
    kernel_note = f", ipykernel {scale.ipykernel_starts}" if scale.ipykernel_starts else ""
    table = Table(
        f"{kind.label}: engine start to first `{CODE}` result (ms, {scale.starts} starts each"
        f"{kernel_note})",
        columns=COLUMNS,
    )
    medians = {name: median(times) * MS for name, times in m.starts.items()}
    p99s = {name: percentile(times, 99) * MS for name, times in m.starts.items()}
    made = {name: times for name, times in m.workspaces.items() if times}
    table.rows += [
        row("median", medians, verdicts(medians, kind.start_targets_ms, "ms")),
        row("p99", p99s),
        row(
            "of which making the workspace, median",
            {name: median(times) * MS for name, times in made.items()},
            ratios=False,
        ),
        row(
            "of which making the workspace, p99",
            {name: percentile(times, 99) * MS for name, times in made.items()},
            ratios=False,
        ),
    ]
    table.notes.append(
        f"From asking for the engine until the `result` of `{CODE}` is in this process: "
        "*forked* through `Templates.launch` from the type's warm template, *exec* through "
        f"`launch.launch`, the same declaration (plugins/{kind.plugin}); *no sandbox*: with "
        f"`sandbox=False` (named `{engine_type.name}{UNSANDBOXED_SUFFIX}`). A sandboxed start "
        "begins with `Sandboxes.for_engine` as `POST /engines` does, for a new workspace key "
        "each time: making its folder and chowning it to a new uid is inside the time (the "
        "rows *making the workspace* time that step alone). Each engine stopped (untimed) "
        "after its answer. Each contender was started once untimed first; then they took "
        "turns in a rotating order."
    )
    if m.ipykernel_answered:
        table.notes.append(
            "ipykernel: jupyter_client's `start_kernel()` until the `execute_result` and "
            "`execute_reply` of `2+2`, through `wait_for_ready()`, which waits at least 0.2 s "
            "more after the first kernel_info reply; that reply came after a median of "
            f"{number(median(m.ipykernel_answered) * MS)} ms."
        )
    table.notes += common_notes(m)
    return table


def memory_table(kind: Kind, m: Measures) -> Table:
    """One idle engine's memory, per contender, summed over its processes."""
    table = Table(f"{kind.label}: idle memory of one engine (MiB)", columns=COLUMNS)
    uss = {name: memory.uss for name, memory in m.memory.items()}
    table.rows += [
        row("USS", uss, verdicts(uss, kind.uss_targets_mib, "MiB")),
        row("RSS", {name: memory.rss for name, memory in m.memory.items()}),
        row(
            "processes",
            {name: memory.processes for name, memory in m.memory.items()},
            show=whole,
            ratios=False,
        ),
    ]
    preloaded = ", ".join(m.template_info.get("preloaded", [])) or "nothing"
    table.notes.append(
        f"After one `{CODE}` and {SETTLE_SECONDS:g} s at rest, summed over the listed pid and "
        "its descendants (/proc/PID/task/TID/children): a forked sandboxed engine is its PID "
        "namespace's init (the pid the backend lists) and the engine, its child; an exec'd "
        "sandboxed one has the sandbox's launcher above them; ipykernel's "
        "processes likewise. USS = Private_Clean + Private_Dirty from /proc/PID/smaps_rollup: "
        "what the engine costs on top of pages it shares. A forked engine shares the template's "
        "pages until it writes them; its RSS counts them all. An exec engine imports only what "
        f"its first evaluation needs (the templates preloaded: {preloaded})."
    )
    table.notes.append(parts_note(m))
    table.notes.append(template_note(m))
    table.notes += common_notes(m)
    return table


def parts_note(m: Measures) -> str:
    """A sandboxed engine's USS, process by process."""
    said = []
    for name, labels in PROCESSES.items():
        members = m.parts.get(name, [])
        if len(members) != len(labels):
            labels = tuple(f"process {index + 1}" for index in range(len(members)))
        pairs = zip(labels, members, strict=True)
        each = " + ".join(f"{label} {number(member.uss)}" for label, member in pairs)
        said.append(f"{short_name(name)}: {each} MiB")
    return "USS process by process: " + "; ".join(said) + "."


def plural(count: int, noun: str) -> str:
    """'1 process', '2 processes'."""
    return f"{count:,} {noun}" + ("" if count == 1 else "es")


def template_note(m: Measures) -> str:
    """The templates' own memory and their spares'."""

    def spares(sandboxed: bool) -> str:
        found = m.spares.get(sandboxed, [])
        each = [f"{number(s.uss)} ({plural(s.processes, 'process')})" for s in found]
        return " + ".join(each) or "none"

    said = []
    for sandboxed, label in ((True, "sandbox"), (False, "no sandbox")):
        template = m.templates[sandboxed]
        said.append(
            f"{label}: RSS {number(template.rss)} MiB, USS {number(template.uss)} MiB, its "
            f"spare forked ahead USS {spares(sandboxed)} MiB"
        )
    return "The templates themselves, paid once per engine type: " + "; ".join(said) + "."


def capacity_table(kind: Kind, m: Measures) -> Table:
    """The crowds, measured and projected."""
    crowds = m.crowds
    count = next(iter(crowds.values())).count
    table = Table(f"{kind.label}: capacity, {count:,} idle engines", columns=COLUMNS)
    start = {name: median(times) for name, times in m.starts.items()}
    idle = {name: memory.uss for name, memory in m.memory.items()}
    measured = {name: crowd for name, crowd in crowds.items()}
    projected = [name for name in CONTENDERS if name not in measured]

    def each(
        of_crowd: Callable[[Crowd], float], of_one: Callable[[str], float] | None = None
    ) -> Values:
        values = {name: of_crowd(crowd) for name, crowd in measured.items()}
        if of_one is not None:
            values |= {name: of_one(name) for name in projected if name in start}
        return values

    mean_uss = each(lambda c: sum(e.uss for e in c.engines) / len(c.engines), idle.__getitem__)
    table.rows += [
        row(
            "time until all answered (s)",
            each(lambda c: c.seconds, lambda name: count * start[name]),
            projected=projected,
        ),
        row(
            "mean start rate (engines/s)",
            each(lambda c: c.count / c.seconds, lambda name: 1 / start[name]),
            projected=projected,
        ),
        row(
            "USS, summed (MiB)",
            each(lambda c: sum(e.uss for e in c.engines), lambda name: count * idle[name]),
            projected=projected,
        ),
        row(
            "mean USS per engine (MiB)",
            mean_uss,
            verdicts(mean_uss, kind.uss_targets_mib, "MiB"),
            projected=projected,
        ),
        row("kernel memory taken (MiB)", each(lambda c: c.kernel)),
        row("kernel memory per engine (MiB)", each(lambda c: c.kernel / c.count)),
        row(
            "idle engines in 8 GiB, by USS",
            each(
                lambda c: math.floor((BUDGET_MIB - c.template.rss) / mean_uss[c.mode.name]),
                lambda name: math.floor(BUDGET_MIB / idle[name]),
            ),
            show=whole,
            projected=projected,
        ),
        row(
            "idle engines in 8 GiB, USS and kernel memory",
            each(
                lambda c: math.floor(
                    (BUDGET_MIB - c.template.rss) / (mean_uss[c.mode.name] + c.kernel / c.count)
                )
            ),
            show=whole,
        ),
        row("time until all stopped (s)", each(lambda c: c.stop_seconds)),
    ]
    table.notes += capacity_notes(count, measured)
    table.notes += common_notes(m)
    return table


def capacity_notes(count: int, crowds: dict[str, Crowd]) -> list[str]:
    """How the crowds were measured and the projections made."""
    modes = " and ".join(f"*{short(crowd.mode)}*" for crowd in crowds.values())
    summed = "; ".join(
        f"{short(c.mode)}: {number(sum(e.uss for e in c.engines))} MiB over "
        f"{plural(sum(e.processes for e in c.engines), 'process')}"
        for c in crowds.values()
    )
    return [
        f"{modes}: {count:,} engines really started, {min(BATCH, count)} at a time "
        "(`asyncio.gather`, one batch after the other; each sandboxed one in a workspace of its "
        f"own, made on the way), each until its `{CODE}` result; the time is from the first "
        f"start to the last answer. Then, after {SETTLE_SECONDS:g} s at rest, the USS of each "
        f"engine's processes (smaps_rollup), summed ({summed}), and how much the kernel's own "
        "memory grew since before the first start (/proc/meminfo: PageTables + KernelStack + "
        "SUnreclaim: page tables, kernel stacks, namespaces, mounts, sockets, which no USS "
        "counts; whatever else runs on the machine meanwhile counts too). Then all stopped, "
        f"{min(BATCH, count)} at a time. Engines in 8 GiB = floor(({BUDGET_MIB} MiB - "
        "template RSS) / mean USS), or / (mean USS + kernel memory per engine).",
        "*projected* cells are not measured with a crowd: times = count x median start of the "
        f"start table (one at a time), engines in 8 GiB = floor({BUDGET_MIB} MiB / USS of one "
        "idle engine) from the memory table. Alone, an engine's shared-library pages count in "
        "its USS; in a crowd they would be shared, so these counts are somewhat low.",
    ]


def tables(kind: Kind, engine_type: EngineType, scale: Scale, m: Measures) -> list[Table]:
    """The start, memory and capacity tables of one engine type."""
    return [
        start_table(kind, engine_type, scale, m),
        memory_table(kind, m),
        capacity_table(kind, m),
    ]


def skipped(kind: Kind, engine_type: EngineType, why: str) -> list[Table]:
    """The one table for an engine type this machine cannot run."""
    table = Table(f"{kind.label}: not measured", columns=COLUMNS)
    table.rows.append(["engine start, idle memory, capacity", *([NONE] * (len(COLUMNS) - 2)), ""])
    table.notes.append(f"Skipped: `{engine_type.bin}` cannot import Sage ({why}).")
    return [table]
