"""Codenode's Python engine against ipykernel (driven by jupyter_client), in one run.

Four groups of measures, each a table:

1. start: spawn to the engine's ready signal (Codenode's ``ready`` frame, ipykernel's
   ``wait_for_ready``), to its first answer (ipykernel's first kernel_info reply) and to the
   first ``2+2`` result;
2. round trip of ``2+2`` on a warm engine, the result delivered to this process;
3. idle memory of one engine after ready and one evaluation (RSS and USS);
4. receiving the whole output of a loop that prints 100,000 lines.

Starts alternate between the contenders, so that noise on a shared machine falls on both.
"""

from __future__ import annotations

import compileall
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import codenode
from bench.contenders import BenchError, CodenodeEngine, Contender, JupyterKernel, StartTimes
from bench.memory import Memory, memory_of
from bench.report import Table, compare, median, number, percentile

PRINT_LINES = 100_000
PRINT_CODE = f"for i in range({PRINT_LINES}): print(i)"
PRINT_EXPECTED = "".join(f"{i}\n" for i in range(PRINT_LINES))
# Let a fresh engine finish whatever it does after its first answer before its memory is read.
SETTLE_SECONDS = 1.0

Starter = Callable[[], tuple[Contender, StartTimes]]
CONTENDERS: dict[str, Starter] = {
    "Codenode": CodenodeEngine.start,
    "ipykernel": JupyterKernel.start,
}


@dataclass(frozen=True)
class Scale:
    """How many times each thing is measured."""

    starts: int = 20
    warmup: int = 50
    calls: int = 1000
    output_runs: int = 3


FULL = Scale()
QUICK = Scale(starts=5, warmup=20, calls=200, output_runs=1)


@dataclass
class Measures:
    """Everything measured of one contender; times in seconds."""

    starts: list[StartTimes]
    round_trips: list[float]
    memory: Memory
    output: list[float]


def measure_starts(scale: Scale) -> dict[str, list[StartTimes]]:
    """Per contender: how long scale.starts fresh engines took to start."""
    times: dict[str, list[StartTimes]] = {name: [] for name in CONTENDERS}
    for index in range(scale.starts):
        names = list(CONTENDERS)
        if index % 2:
            names.reverse()
        for name in names:
            engine, started = CONTENDERS[name]()
            engine.close()
            times[name].append(started)
    return times


def measure_warm(start: Starter, scale: Scale) -> tuple[Memory, list[float], list[float]]:
    """One engine's idle memory, then its round trips and output runs."""
    engine, _ = start()
    try:
        time.sleep(SETTLE_SECONDS)
        memory = memory_of(engine.pid)
        for _ in range(scale.warmup):
            engine.add()
        round_trips = [engine.add() for _ in range(scale.calls)]
        output = []
        for _ in range(scale.output_runs):
            began = time.perf_counter()
            text = engine.output(PRINT_CODE)
            output.append(time.perf_counter() - began)
            if text != PRINT_EXPECTED:
                raise BenchError(
                    f"incomplete output: {len(text)} of {len(PRINT_EXPECTED)} characters"
                )
    finally:
        engine.close()
    return memory, round_trips, output


def measure(scale: Scale) -> dict[str, Measures]:
    """Run every measure on every contender."""
    starts = measure_starts(scale)
    results = {}
    for name, start in CONTENDERS.items():
        memory, round_trips, output = measure_warm(start, scale)
        results[name] = Measures(starts[name], round_trips, memory, output)
    return results


def tables(ours: Measures, theirs: Measures, scale: Scale) -> list[Table]:
    """The four tables, Codenode against ipykernel."""
    ms = 1000.0
    start = Table(f"Engine start (ms, {scale.starts} starts each)")
    for label, pick, target in (
        ("ready", "ready", 0.05),
        ("first answer", "answered", 0.05),
        ("first 2+2 result", "first_result", None),
    ):
        a = [getattr(started, pick) for started in ours.starts]
        b = [getattr(started, pick) for started in theirs.starts]
        start.rows.append(compare(f"{label}, median", median(a) * ms, median(b) * ms, target))
        start.rows.append(compare(f"{label}, p90", percentile(a, 90) * ms, percentile(b, 90) * ms))
    start.notes.append(
        "From spawning the process. *ready*: Codenode's `ready` frame; ipykernel from "
        "`start_kernel()` until `wait_for_ready()` returns. *first answer*: Codenode's `ready` "
        "frame again; ipykernel's first kernel_info reply, which `wait_for_ready()` follows with "
        "at least 0.2 s of flushing iopub (jupyter_client's wait, not the kernel's). "
        "*first 2+2 result*: ready, then one round trip. Starts alternate between the two."
    )

    trip = Table(f"Round trip of `2+2` on a warm engine (ms, {scale.calls} calls)")
    a, b = ours.round_trips, theirs.round_trips
    trip.rows.append(compare("median", median(a) * ms, median(b) * ms, 0.2))
    trip.rows.append(compare("p99", percentile(a, 99) * ms, percentile(b, 99) * ms))
    trip.notes.append(
        f"After {scale.warmup} warm-up calls. Codenode: until the `result` message; "
        "ipykernel: until both the iopub `execute_result` and the shell `execute_reply`."
    )

    memory = Table("Idle memory of one engine (MiB)")
    memory.rows.append(compare("RSS", ours.memory.rss, theirs.memory.rss, 0.33))
    memory.rows.append(compare("USS", ours.memory.uss, theirs.memory.uss))
    memory.notes.append(
        f"After ready, one `2+2` and {SETTLE_SECONDS:g} s idle; USS = Private_Clean + "
        "Private_Dirty from /proc/PID/smaps_rollup."
    )

    output = Table(f"Receive all output of `{PRINT_CODE}` (ms, {scale.output_runs} runs)")
    a, b = ours.output, theirs.output
    output.rows.append(compare("median", median(a) * ms, median(b) * ms))
    rate_a, rate_b = PRINT_LINES / median(a) / 1000, PRINT_LINES / median(b) / 1000
    output.rows.append(compare("lines per ms", rate_a, rate_b))
    output.notes.append(
        f"From sending the code until the result (Codenode) or the idle status (ipykernel), "
        f"all {PRINT_LINES:,} lines ({number(len(PRINT_EXPECTED) / 1e6)} MB) received and checked."
    )
    return [start, trip, memory, output]


def compile_codenode() -> None:
    """Bring codenode's bytecode up to date, as an installed copy would have it.

    Where PYTHONDONTWRITEBYTECODE is set, a module edited since ``make`` compiled it would
    otherwise be compiled again at every engine start, and counted in the start time.
    """
    compileall.compile_dir(os.path.dirname(codenode.__file__), quiet=1)


def run(quick: bool = False) -> list[Table]:
    """Measure both engines; the tables."""
    scale = QUICK if quick else FULL
    compile_codenode()
    results = measure(scale)
    return tables(results["Codenode"], results["ipykernel"], scale)
