"""Engines forked from a warm template against engines started by exec, and ipykernel, in one run.

Codenode's backend objects are driven in this process, as the backend drives them, with no
HTTP in between: ``Templates`` keeps one warm template per engine type, ``Engine(type,
cgroups, launcher)`` starts an engine either forked from it (``Templates.launch``) or by exec
(``codenode.backend.launch.launch``), with per-engine cgroups where the machine allows them.
The engine types are the shipped declarations, plugins/python.py and plugins/sage.py, read from
their files. ipykernel is started and driven by jupyter_client (bench/contenders.py).

For each engine type (Python; then Sage, forked against exec only), three tables:

1. start: from creating the engine until the result of its first ``2+2`` is here, the engine
   stopped after each start. Every contender is started once untimed first; then the
   contenders take turns, in an order that rotates, so that noise falls on all of them;
2. idle memory (USS, RSS) of one engine after one ``2+2`` and a second of rest, and of the
   template itself;
3. capacity: a crowd of forked engines really started (in batches of ``BATCH`` at once) until
   each answered ``2+2``, the wall time, and the sum of their USS; how many idle engines would
   fit in 8 GiB. For exec and ipykernel the crowd is projected from tables 1 and 2: starting
   2,000 of them would take ~20 GB.

Every engine started is stopped at the end, even on error; then the templates end.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import resource
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contenders import BenchError, JupyterKernel, StartTimes
from bench.engine import SETTLE_SECONDS, compile_codenode
from bench.memory import Memory, memory_of
from bench.report import Table, median, number, percentile
from codenode.backend.cgroups import Cgroups
from codenode.backend.engines import Engine, Launcher, Subscriber
from codenode.backend.enginetype import EngineType
from codenode.backend.launch import launch
from codenode.backend.templates import Templates

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0  # for one answer
TEMPLATE_TIMEOUT = 120.0  # for a template to say ready (Sage imports for seconds)
BATCH = 50  # engines of the crowd started at once
BUDGET_MIB = 8192  # the memory the capacity row fills: 8 GiB
FDS_PER_ENGINE = 4  # the backend's descriptors per engine: socket, stderr, pidfd, slack
CODE, ANSWER = "2+2", "4\n"
FORKED, EXEC, IPYKERNEL = "Codenode forked", "Codenode exec", "ipykernel"
COLUMNS = ("measure", FORKED, EXEC, IPYKERNEL, "forked/exec", "forked/ipykernel", "target")
NONE = "—"
MS = 1000.0
SAGE_CHECK = "import sage.all__sagemath_symbolics"


@dataclass(frozen=True)
class Scale:
    """How many times each thing is measured, for one engine type."""

    starts: int  # of each Codenode contender
    ipykernel_starts: int  # 0: no ipykernel column
    crowd: int  # forked engines running at once


@dataclass(frozen=True)
class Kind:
    """One engine type under test: its plug-in, its scales and its targets."""

    label: str
    plugin: str  # file in plugins/
    attribute: str  # the EngineType's name in it
    full: Scale
    quick: Scale
    start_target_ms: float
    uss_target_mib: float | None


PYTHON = Kind(
    label="Python",
    plugin="python.py",
    attribute="python",
    full=Scale(starts=100, ipykernel_starts=100, crowd=2000),
    quick=Scale(starts=20, ipykernel_starts=10, crowd=200),
    start_target_ms=5.0,
    uss_target_mib=3.0,
)
SAGE = Kind(
    label="Sage",
    plugin="sage.py",
    attribute="sage",
    full=Scale(starts=20, ipykernel_starts=0, crowd=100),
    quick=Scale(starts=5, ipykernel_starts=0, crowd=20),
    start_target_ms=50.0,
    uss_target_mib=None,
)
KINDS = (PYTHON, SAGE)


@dataclass
class Crowd:
    """A crowd of forked engines: how long it took to start, what its engines use."""

    count: int
    seconds: float
    uss: list[float]  # MiB, one per engine
    template: Memory


@dataclass
class Measures:
    """Everything measured of one engine type; times in seconds, memory in MiB."""

    starts: dict[str, list[float]]
    ipykernel_answered: list[float]  # ipykernel's first kernel_info reply, for the notes
    memory: dict[str, Memory]
    template: Memory
    spares: list[Memory]  # children the template forked ahead, not yet engines
    template_info: dict[str, Any]
    crowd: Crowd


# -- one engine ------------------------------------------------------------------------------


def load_type(kind: Kind) -> EngineType:
    """The shipped declaration, read from its plug-in file as the backend reads it."""
    path = ROOT / "plugins" / kind.plugin
    spec = importlib.util.spec_from_file_location(f"bench_plugin_{kind.attribute}", path)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    engine_type = getattr(module, kind.attribute, None)
    if not isinstance(engine_type, EngineType):
        raise BenchError(f"{path} declares no engine type {kind.attribute!r}")
    return engine_type


async def evaluate(engine: Engine) -> None:
    """Evaluate 2+2 on the engine; return once its (checked) result is here."""
    subscriber = Subscriber()
    engine.subscribers.add(subscriber)
    try:
        await engine.request(subscriber, {"id": 1, "op": "evaluate", "code": CODE})
        while True:
            message = await asyncio.wait_for(subscriber.queue.get(), TIMEOUT)
            if message.get("id") == 1 and message.get("type") in ("result", "error"):
                break
    finally:
        engine.subscribers.discard(subscriber)
    if message.get("type") != "result" or message.get("out") != ANSWER:
        raise BenchError(f"{engine.type.name} answered {CODE} with {message!r}")


async def start_engine(
    engine_type: EngineType, cgroups: Cgroups | None, launcher: Launcher, forked: bool
) -> tuple[Engine, float]:
    """A started engine that answered 2+2, and the seconds that took from its creation."""
    began = time.perf_counter()
    engine = Engine(engine_type, cgroups, launcher)
    await engine.start()  # stops what it started if it fails
    try:
        await evaluate(engine)
        elapsed = time.perf_counter() - began
        if engine.forked != forked:
            how = "forked" if engine.forked else "started by exec"
            raise BenchError(f"a {engine_type.name} engine was {how}, not as meant")
    except BaseException:
        await engine.stop()
        raise
    return engine, elapsed


async def stop_all(engines: Sequence[Engine]) -> None:
    """Stop the engines, BATCH at a time."""
    for first in range(0, len(engines), BATCH):
        batch = engines[first : first + BATCH]
        await asyncio.gather(*(engine.stop() for engine in batch), return_exceptions=True)


def ipykernel_start() -> StartTimes:
    """One ipykernel started until its first 2+2 result, then shut down (blocking)."""
    kernel, started = JupyterKernel.start()
    kernel.close()
    return started


def ipykernel_memory() -> Memory:
    """One ipykernel's memory after its first 2+2 and SETTLE_SECONDS at rest (blocking)."""
    kernel, _ = JupyterKernel.start()
    try:
        time.sleep(SETTLE_SECONDS)
        return memory_of(kernel.pid)
    finally:
        kernel.close()


# -- the measures ----------------------------------------------------------------------------


class Bench:
    """The measures of one engine type, against one template and one set of cgroups."""

    def __init__(self, engine_type: EngineType, templates: Templates, cgroups: Cgroups) -> None:
        self.type = engine_type
        self.templates = templates
        self.cgroups = cgroups
        self.launchers: dict[str, tuple[Launcher, bool]] = {
            FORKED: (templates.launch, True),
            EXEC: (launch, False),
        }

    async def wait_for_template(self) -> dict[str, Any]:
        """The template once it is ready; BenchError if it will not fork."""
        started = self.templates._started[self.type.name]
        await asyncio.wait_for(started.wait(), TEMPLATE_TIMEOUT)
        info = self.templates.describe(self.type.name) or {}
        if info.get("state") != "ready" or "problem" in info:
            raise BenchError(f"the {self.type.name} template is not usable: {info!r}")
        return info

    def template_pid(self) -> int:
        """The template process's id."""
        info = self.templates.describe(self.type.name) or {}
        pid = info.get("pid")
        if not isinstance(pid, int):
            raise BenchError(f"the {self.type.name} template has no process: {info!r}")
        return pid

    def spares(self, engines: Sequence[Engine]) -> list[Memory]:
        """Memory of the template's children that are not engines yet (forked ahead)."""
        pid = self.template_pid()
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                pids = {int(child) for child in children.read().split()}
        except OSError:
            return []
        pids -= {engine.pid for engine in engines}
        found = []
        for child in sorted(pids):
            try:
                found.append(memory_of(child))
            except OSError:
                continue  # gone meanwhile
        return found

    async def once(self, name: str) -> float:
        """One Codenode engine started until its first 2+2 result, then stopped; seconds."""
        launcher, forked = self.launchers[name]
        engine, elapsed = await start_engine(self.type, self.cgroups, launcher, forked)
        await engine.stop()
        return elapsed

    async def starts(self, scale: Scale) -> tuple[dict[str, list[float]], list[float]]:
        """Start times per contender, interleaved; and ipykernel's times to its first answer."""
        names = [FORKED, EXEC] + ([IPYKERNEL] if scale.ipykernel_starts else [])
        times: dict[str, list[float]] = {name: [] for name in names}
        answered: list[float] = []
        for name in names:  # untimed: caches warm for every contender alike
            if name == IPYKERNEL:
                await asyncio.to_thread(ipykernel_start)
            else:
                await self.once(name)
        for index in range(scale.starts):
            # ipykernel's fewer starts spread evenly over the rounds
            with_kernel = (index * scale.ipykernel_starts) // scale.starts != (
                (index + 1) * scale.ipykernel_starts
            ) // scale.starts
            present = [name for name in names if name != IPYKERNEL or with_kernel]
            turn = index % len(present)
            for name in present[turn:] + present[:turn]:
                if name == IPYKERNEL:
                    started = await asyncio.to_thread(ipykernel_start)
                    times[name].append(started.first_result)
                    answered.append(started.answered)
                else:
                    times[name].append(await self.once(name))
        return times, answered

    async def idle_memory(self, with_ipykernel: bool) -> tuple[dict[str, Memory], list[Memory]]:
        """One engine's memory per contender at rest; the template's spare children."""
        memory: dict[str, Memory] = {}
        spares: list[Memory] = []
        for name, (launcher, forked) in self.launchers.items():
            engine, _ = await start_engine(self.type, self.cgroups, launcher, forked)
            try:
                await asyncio.sleep(SETTLE_SECONDS)
                memory[name] = memory_of(engine.pid)
                if forked:
                    spares = self.spares([engine])
            finally:
                await engine.stop()
        if with_ipykernel:
            memory[IPYKERNEL] = await asyncio.to_thread(ipykernel_memory)
        return memory, spares

    async def crowd(self, count: int) -> Crowd:
        """count forked engines started, BATCH at a time, until all answered; their memory."""
        engines: list[Engine] = []
        launcher, forked = self.launchers[FORKED]
        try:
            began = time.perf_counter()
            for first in range(0, count, BATCH):
                size = min(BATCH, count - first)
                started = await asyncio.gather(
                    *(start_engine(self.type, self.cgroups, launcher, forked) for _ in range(size)),
                    return_exceptions=True,
                )
                failures = [result for result in started if isinstance(result, BaseException)]
                engines += [
                    result[0] for result in started if not isinstance(result, BaseException)
                ]
                if failures:
                    raise BenchError(
                        f"{len(failures)} of the crowd's engines failed to start, after "
                        f"{len(engines)} started: {failures[0]!r}"
                    ) from failures[0]
            seconds = time.perf_counter() - began
            await asyncio.sleep(SETTLE_SECONDS)
            pids = [engine.pid for engine in engines if engine.pid is not None]
            uss = await asyncio.to_thread(lambda: [memory_of(pid).uss for pid in pids])
            template = memory_of(self.template_pid())
        finally:
            await stop_all(engines)
        return Crowd(count, seconds, uss, template)


async def measure(kind: Kind, engine_type: EngineType, scale: Scale) -> tuple[Measures, str]:
    """Every measure of one engine type; and which cgroups engines got."""
    cgroups = Cgroups()
    templates = Templates()
    try:
        bench = Bench(engine_type, templates, cgroups)
        templates.sync([engine_type])
        info = await bench.wait_for_template()
        starts, answered = await bench.starts(scale)
        memory, spares = await bench.idle_memory(scale.ipykernel_starts > 0)
        template = memory_of(bench.template_pid())
        crowd = await bench.crowd(scale.crowd)
    finally:
        await templates.close()
        cgroups.close()
    names = ", ".join(f"{c.name} (v{c.version})" for c in cgroups.controllers)
    return Measures(starts, answered, memory, template, spares, info, crowd), names


# -- the tables ------------------------------------------------------------------------------


def ratio(ours: float, theirs: float | None) -> str:
    """ours / theirs, or a dash where there is nothing to compare with."""
    if theirs is None:
        return NONE
    return number(ours / theirs) if theirs else "inf"


def whole(value: float) -> str:
    """A count, with thousands separated."""
    return f"{int(value):,}"


def projected_row(
    measure: str,
    forked: float,
    exec_value: float | None,
    kernel: float | None,
    show: Callable[[float], str] = number,
) -> list[str]:
    """A capacity row: the crowd's measure, the others' projections, and the ratios."""
    cells = [measure, show(forked)]
    for value in (exec_value, kernel):
        cells.append(NONE if value is None else f"{show(value)} (projected)")
    return [*cells, ratio(forked, exec_value), ratio(forked, kernel)]


def verdict(value: float, target: float, unit: str) -> str:
    """The target of a row, and whether the forked engine meets it."""
    return f"forked ≤ {target:g} {unit} ({'met' if value <= target else 'MISSED'})"


def row(measure: str, values: dict[str, float], target: str = "") -> list[str]:
    """A row of the three contenders (a dash for one not measured), the ratios, the target."""
    forked = values[FORKED]
    return [
        measure,
        number(forked),
        number(values[EXEC]),
        number(values[IPYKERNEL]) if IPYKERNEL in values else NONE,
        ratio(forked, values[EXEC]),
        ratio(forked, values.get(IPYKERNEL)),
        target,
    ]


def common_notes(cgroups: str) -> list[str]:
    """What every table was measured with."""
    with_cgroups = (
        f"each Codenode engine in its own cgroups: {cgroups}"
        if cgroups
        else "no cgroups writable here: engines limited by setrlimit alone"
    )
    return [
        f"In-process backend objects (Templates, Engine), no HTTP; {with_cgroups}. "
        "Absolute times carry this machine's noise: compare ratios from the same run."
    ]


def tables(
    kind: Kind, engine_type: EngineType, scale: Scale, m: Measures, cgroups: str
) -> list[Table]:
    """The start, memory and capacity tables of one engine type."""
    label, common = kind.label, common_notes(cgroups)
    kernel_note = f", ipykernel {scale.ipykernel_starts}" if scale.ipykernel_starts else ""

    start = Table(
        f"{label}: engine start to first `{CODE}` result (ms, {scale.starts} starts each"
        f"{kernel_note})",
        columns=COLUMNS,
    )
    medians = {name: median(times) * MS for name, times in m.starts.items()}
    p99s = {name: percentile(times, 99) * MS for name, times in m.starts.items()}
    target = verdict(medians[FORKED], kind.start_target_ms, "ms")
    start.rows.append(row("median", medians, target))
    start.rows.append(row("p99", p99s))
    start.notes.append(
        f"From `Engine({engine_type.name})` until the `result` of `{CODE}` is in this process: "
        "*forked* through `Templates.launch` from the warm template, *exec* through "
        "`launch.launch` (the same declaration, plugins/"
        f"{kind.plugin}), each engine stopped (untimed) after its answer. Each contender was "
        "started once untimed first; then they took turns in a rotating order."
    )
    if m.ipykernel_answered:
        start.notes.append(
            "ipykernel: jupyter_client's `start_kernel()` until the `execute_result` and "
            "`execute_reply` of `2+2`, through `wait_for_ready()`, which waits at least 0.2 s "
            "more after the first kernel_info reply; that reply came after a median of "
            f"{number(median(m.ipykernel_answered) * MS)} ms."
        )
    start.notes += common

    memory = Table(f"{label}: idle memory of one engine (MiB)", columns=COLUMNS)
    uss = {name: mem.uss for name, mem in m.memory.items()}
    rss = {name: mem.rss for name, mem in m.memory.items()}
    uss_target = (
        verdict(uss[FORKED], kind.uss_target_mib, "MiB") if kind.uss_target_mib is not None else ""
    )
    memory.rows.append(row("USS", uss, uss_target))
    memory.rows.append(row("RSS", rss))
    preloaded = ", ".join(m.template_info.get("preloaded", [])) or "nothing"
    spares = " + ".join(f"{number(s.uss)}" for s in m.spares) or "none"
    memory.notes.append(
        f"After one `{CODE}` and {SETTLE_SECONDS:g} s at rest; USS = Private_Clean + "
        "Private_Dirty from /proc/PID/smaps_rollup: what the engine costs on top of pages "
        "it shares. A forked engine shares the template's pages until it writes them; its RSS "
        "counts them all. An exec engine imports only what its first evaluation needs (the "
        f"template preloaded: {preloaded})."
    )
    memory.notes.append(
        f"The template itself: RSS {number(m.template.rss)} MiB, USS {number(m.template.uss)} "
        f"MiB, paid once per engine type; its spare child forked ahead: USS {spares} MiB."
    )
    memory.notes += common

    capacity = Table(
        f"{label}: capacity, {m.crowd.count:,} idle engines",
        columns=COLUMNS[:-1],
    )
    crowd = m.crowd
    mean_uss = sum(crowd.uss) / len(crowd.uss)
    fits = math.floor((BUDGET_MIB - crowd.template.rss) / mean_uss)
    exec_start = median(m.starts[EXEC])
    kernel_start = median(m.starts[IPYKERNEL]) if IPYKERNEL in m.starts else None
    kernel_uss = m.memory[IPYKERNEL].uss if IPYKERNEL in m.memory else None
    count = crowd.count

    def times(seconds: float | None) -> float | None:
        return None if seconds is None else count * seconds

    def rate(seconds: float | None) -> float | None:
        return None if seconds is None else 1 / seconds

    def fit(uss_mib: float | None) -> float | None:
        return None if uss_mib is None else math.floor(BUDGET_MIB / uss_mib)

    capacity.rows += [
        projected_row(
            "time until all answered (s)", crowd.seconds, times(exec_start), times(kernel_start)
        ),
        projected_row(
            "mean start rate (engines/s)",
            count / crowd.seconds,
            rate(exec_start),
            rate(kernel_start),
        ),
        projected_row("mean USS per engine (MiB)", mean_uss, uss[EXEC], kernel_uss),
        ["template RSS (MiB)", number(crowd.template.rss), NONE, NONE, NONE, NONE],
        projected_row("idle engines in 8 GiB", fits, fit(uss[EXEC]), fit(kernel_uss), whole),
    ]
    capacity.notes.append(
        f"*forked*: {count:,} engines really started, {min(BATCH, count)} at a time "
        "(`asyncio.gather`, one batch after the other), "
        f"each until its `{CODE}` result; the time is from the first start to the last "
        f"answer. Then, after {SETTLE_SECONDS:g} s at rest, the USS of each (smaps_rollup), "
        "summed: "
        f"{number(sum(crowd.uss))} MiB in all. Engines in 8 GiB = "
        f"floor(({BUDGET_MIB} MiB - template RSS) / mean USS)."
    )
    projected = (
        "*projected* cells are not measured with a crowd: times = count x median start of the "
        f"start table (one at a time), engines in 8 GiB = floor({BUDGET_MIB} MiB / USS of one "
        "idle engine) from the memory table. Alone, an engine's shared-library pages count in "
        "its USS; in a crowd they would be shared, so these counts are somewhat low."
    )
    capacity.notes.append(projected)
    capacity.notes += common
    return [start, memory, capacity]


def skipped(kind: Kind, engine_type: EngineType, why: str) -> list[Table]:
    """The one table for an engine type this machine cannot run."""
    table = Table(f"{kind.label}: not measured", columns=COLUMNS)
    table.rows.append(["engine start, idle memory, capacity", NONE, NONE, NONE, NONE, NONE, ""])
    table.notes.append(f"Skipped: `{engine_type.bin}` cannot import Sage ({why}).")
    return [table]


def sage_problem(engine_type: EngineType) -> str | None:
    """Why the Sage type's Python cannot import Sage, or None if it can."""
    try:
        checked = subprocess.run(
            [engine_type.bin, "-c", SAGE_CHECK],
            capture_output=True,
            text=True,
            timeout=TEMPLATE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if checked.returncode != 0:
        lines = checked.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {checked.returncode}"
    return None


def raise_open_files(count: int) -> tuple[int, int]:
    """Raise this process's soft limit of open files to the hard one; the limits before."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = before
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < count * FDS_PER_ENGINE + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
        raise BenchError(
            f"{count} engines need ~{count * FDS_PER_ENGINE} open files; hard limit {hard}"
        )
    return before


def run(quick: bool = False) -> list[Table]:
    """Measure both engine types; their tables."""
    compile_codenode()
    results: list[Table] = []
    for kind in KINDS:
        scale = kind.quick if quick else kind.full
        engine_type = load_type(kind)
        if kind is SAGE and (why := sage_problem(engine_type)) is not None:
            results += skipped(kind, engine_type, why)
            continue
        before = raise_open_files(scale.crowd)
        try:
            measures, cgroups = asyncio.run(measure(kind, engine_type, scale))
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, before)
        results += tables(kind, engine_type, scale, measures, cgroups)
    return results
