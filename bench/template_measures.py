"""The measures of bench/templates.py: Codenode's engines started in each way (``Mode``),
one at a time, at rest, and in crowds, by the backend's own objects driven in this process.

``Templates`` keeps one warm template per engine type, ``Engine(type, cgroups, launcher,
sandbox)`` starts an engine either forked from it (``Templates.launch``) or by exec
(``codenode.backend.launch.launch``), with per-engine cgroups where the machine allows them.
Sandboxed engines get their sandbox as ``EngineTable.start`` (what ``POST /engines`` runs)
gives it: ``Sandboxes.for_engine`` maps a workspace key to its folder, made and chowned to a
uid of its own on the key's first use. Each sandboxed engine has a new key (``bench-1``,
``bench-2``, ...), so each start includes making its workspace, as a user's first start does;
that part is timed on its own too. The unsandboxed modes run the same declaration with
``sandbox=False`` (and ``-nosandbox`` added to its name, so that both keep a template in one
``Templates``). Every engine started is stopped at the end, even on error; then the templates
end; then any process of the run still alive (none, normally) is killed by its pid, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import itertools
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contenders import BenchError, JupyterKernel, StartTimes
from bench.engine import SETTLE_SECONDS
from bench.memory import (
    Memory,
    descendants_of,
    kernel_mib,
    memories_of_tree,
    memory_of,
    memory_of_tree,
    total,
)
from codenode.backend.cgroups import Cgroups
from codenode.backend.engines import Engine, Launcher, Subscriber
from codenode.backend.enginetype import EngineType
from codenode.backend.launch import launch
from codenode.backend.sandboxes import Sandboxes
from codenode.backend.templates import Templates
from codenode.backend.workspaces import Workspaces
from codenode.protocol.evaluation import Evaluation

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0  # for one answer
TEMPLATE_TIMEOUT = 120.0  # for a template to say ready (Sage imports for seconds)
BATCH = 50  # engines of a crowd started at once
FDS_PER_ENGINE = 4  # the backend's descriptors per engine: socket, stderr, pidfd, slack
LEFTOVER_SECONDS = 3.0  # for processes still ending after the templates closed
CODE, ANSWER = "2+2", "4\n"
KEY_PREFIX = "bench-"  # workspace keys: bench-1, bench-2, ..., one per sandboxed engine
UNSANDBOXED_SUFFIX = "-nosandbox"


@dataclass(frozen=True)
class Mode:
    """One way Codenode starts an engine: forked from the template or exec'd; sandboxed or not."""

    name: str  # its column
    forked: bool
    sandboxed: bool


SANDBOXED = Mode("Codenode forked, sandbox", forked=True, sandboxed=True)
FORKED = Mode("Codenode forked, no sandbox", forked=True, sandboxed=False)
EXEC_SANDBOXED = Mode("Codenode exec, sandbox", forked=False, sandboxed=True)
EXEC = Mode("Codenode exec, no sandbox", forked=False, sandboxed=False)
MODES = (SANDBOXED, FORKED, EXEC_SANDBOXED, EXEC)
CROWDS = (SANDBOXED, FORKED)  # the modes whose crowds are really started
IPYKERNEL = "ipykernel"


@dataclass(frozen=True)
class Scale:
    """How many times each thing is measured, for one engine type."""

    starts: int  # of each Codenode contender
    ipykernel_starts: int  # 0: no ipykernel column
    crowd: int  # forked engines running at once, in each crowd


@dataclass(frozen=True)
class Kind:
    """One engine type under test: its plug-in, its scales and its targets."""

    label: str
    plugin: str  # file in plugins/
    attribute: str  # the EngineType's name in it
    full: Scale
    quick: Scale
    start_targets_ms: tuple[tuple[Mode, float], ...]  # median start, by mode
    uss_targets_mib: tuple[tuple[Mode, float], ...]  # idle USS per engine, by mode


@dataclass
class Crowd:
    """A crowd of forked engines: how long it took to start and stop, what its engines use."""

    mode: Mode
    count: int
    seconds: float
    stop_seconds: float
    engines: list[Memory]  # one per engine, summed over its processes
    kernel: float  # MiB of the kernel's own memory the crowd took (memory.kernel_mib)
    template: Memory


@dataclass
class Measures:
    """Everything measured of one engine type; times in seconds, memory in MiB."""

    starts: dict[str, list[float]]
    workspaces: dict[str, list[float]]  # of the sandboxed starts: making the workspace
    ipykernel_answered: list[float]  # ipykernel's first kernel_info reply, for the notes
    memory: dict[str, Memory]  # summed over each engine's processes
    parts: dict[str, list[Memory]]  # each process's, the listed pid first
    templates: dict[bool, Memory]  # by sandboxed
    spares: dict[bool, list[Memory]]  # children a template forked ahead, not yet engines
    template_info: dict[str, Any]
    crowds: dict[str, Crowd]
    cgroups: str = ""  # which cgroups engines got
    leftovers: int = 0  # processes still alive at the end, killed by pid
    workspace_count: int = 0  # workspaces made by the run


@dataclass
class Started:
    """An engine that answered 2+2; seconds from its creation, and of it making its workspace."""

    engine: Engine
    seconds: float
    workspace_seconds: float | None


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


def variants(engine_type: EngineType) -> dict[bool, EngineType]:
    """The declaration with its sandbox on (True) and off (False), by sandboxed."""
    sandboxed = (
        engine_type if engine_type.sandbox else dataclasses.replace(engine_type, sandbox=True)
    )
    plain = dataclasses.replace(
        engine_type, name=engine_type.name + UNSANDBOXED_SUFFIX, sandbox=False
    )
    return {True: sandboxed, False: plain}


async def evaluate(engine: Engine) -> None:
    """Evaluate 2+2 on the engine; return once its (checked) result is here."""
    subscriber = Subscriber()
    engine.subscribers.add(subscriber)
    try:
        await engine.request(subscriber, {"id": 1, "op": "evaluate", "code": CODE})
        evaluation = Evaluation(1, CODE)
        while not evaluation.add(await asyncio.wait_for(subscriber.queue.get(), TIMEOUT)):
            pass
    finally:
        engine.subscribers.discard(subscriber)
    message = evaluation.result()
    if message.get("type") != "result" or message.get("out") != ANSWER:
        raise BenchError(f"{engine.type.name} answered {CODE} with {message!r}")


def ipykernel_start() -> StartTimes:
    """One ipykernel started until its first 2+2 result, then shut down (blocking)."""
    kernel, started = JupyterKernel.start()
    kernel.close()
    return started


def ipykernel_memory() -> list[Memory]:
    """One ipykernel's memory after its first 2+2 and SETTLE_SECONDS at rest, process by
    process (blocking)."""
    kernel, _ = JupyterKernel.start()
    try:
        time.sleep(SETTLE_SECONDS)
        return memories_of_tree(kernel.pid)
    finally:
        kernel.close()


# -- the measures ----------------------------------------------------------------------------


class Bench:
    """The measures of one engine type, against its templates and one set of cgroups."""

    def __init__(
        self,
        engine_type: EngineType,
        templates: Templates,
        sandboxes: Sandboxes,
        cgroups: Cgroups,
    ) -> None:
        self.types = variants(engine_type)
        self.templates = templates
        self.sandboxes = sandboxes
        self.cgroups = cgroups
        self.keys = itertools.count(1)
        self.running: set[Engine] = set()  # started and not stopped yet

    def launcher(self, mode: Mode) -> Launcher:
        """How engines of the mode are started."""
        return self.templates.launch if mode.forked else launch

    async def wait_for_templates(self) -> dict[str, Any]:
        """Both templates once ready; the sandboxed one's listing. BenchError if one won't fork."""
        infos = {}
        for sandboxed, engine_type in self.types.items():
            started = self.templates._started[engine_type.name]
            await asyncio.wait_for(started.wait(), TEMPLATE_TIMEOUT)
            info = self.templates.describe(engine_type.name) or {}
            if info.get("state") != "ready" or "problem" in info:
                raise BenchError(f"the {engine_type.name} template is not usable: {info!r}")
            infos[sandboxed] = info
        return infos[True]

    def template_pid(self, sandboxed: bool) -> int:
        """The template process's id."""
        name = self.types[sandboxed].name
        pid = (self.templates.describe(name) or {}).get("pid")
        if not isinstance(pid, int):
            raise BenchError(f"the {name} template has no process")
        return pid

    def spares(self, sandboxed: bool, engines: Sequence[Engine]) -> list[Memory]:
        """Memory of the template's children that are not engines yet (forked ahead)."""
        pid = self.template_pid(sandboxed)
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                pids = {int(child) for child in children.read().split()}
        except OSError:
            return []
        pids -= {engine.pid for engine in engines}
        found = []
        for child in sorted(pids):
            try:
                found.append(memory_of_tree(child))
            except OSError:
                continue  # gone meanwhile
        return found

    async def start(self, mode: Mode) -> Started:
        """An engine of the mode started until its first 2+2 result, as EngineTable.start does
        it: a sandboxed one's workspace is asked for first (a new key, so made now)."""
        engine_type = self.types[mode.sandboxed]
        began = time.perf_counter()
        sandbox = None
        if mode.sandboxed:
            sandbox = self.sandboxes.for_engine(engine_type, f"{KEY_PREFIX}{next(self.keys)}")
        made = time.perf_counter()
        engine = Engine(engine_type, self.cgroups, self.launcher(mode), sandbox)
        await engine.start()  # stops what it started if it fails
        self.running.add(engine)
        await evaluate(engine)
        elapsed = time.perf_counter() - began
        if engine.forked != mode.forked:
            how = "forked" if engine.forked else "started by exec"
            raise BenchError(f"a {engine_type.name} engine was {how}, not as {mode.name}")
        return Started(engine, elapsed, made - began if mode.sandboxed else None)

    async def stop(self, engines: Sequence[Engine]) -> None:
        """Stop the engines, BATCH at a time."""
        for first in range(0, len(engines), BATCH):
            batch = engines[first : first + BATCH]
            await asyncio.gather(*(engine.stop() for engine in batch), return_exceptions=True)
            self.running.difference_update(batch)

    async def once(self, mode: Mode) -> Started:
        """One engine started until its first 2+2 result, then stopped (untimed)."""
        started = await self.start(mode)
        await self.stop([started.engine])
        return started

    async def starts(
        self, scale: Scale
    ) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float]]:
        """Start times per contender, interleaved; the sandboxed ones' workspace times; and
        ipykernel's times to its first answer."""
        names = [mode.name for mode in MODES] + ([IPYKERNEL] if scale.ipykernel_starts else [])
        modes = {mode.name: mode for mode in MODES}
        times: dict[str, list[float]] = {name: [] for name in names}
        workspaces: dict[str, list[float]] = {m.name: [] for m in MODES if m.sandboxed}
        answered: list[float] = []
        for name in names:  # untimed: caches warm for every contender alike
            if name == IPYKERNEL:
                await asyncio.to_thread(ipykernel_start)
            else:
                await self.once(modes[name])
        for index in range(scale.starts):
            # ipykernel's fewer starts spread evenly over the rounds
            with_kernel = (index * scale.ipykernel_starts) // scale.starts != (
                (index + 1) * scale.ipykernel_starts
            ) // scale.starts
            present = [name for name in names if name != IPYKERNEL or with_kernel]
            turn = index % len(present)
            for name in present[turn:] + present[:turn]:
                if name == IPYKERNEL:
                    kernel = await asyncio.to_thread(ipykernel_start)
                    times[name].append(kernel.first_result)
                    answered.append(kernel.answered)
                    continue
                started = await self.once(modes[name])
                times[name].append(started.seconds)
                if started.workspace_seconds is not None:
                    workspaces[name].append(started.workspace_seconds)
        return times, workspaces, answered

    async def idle_memory(
        self, with_ipykernel: bool
    ) -> tuple[dict[str, list[Memory]], dict[bool, list[Memory]]]:
        """One engine's memory per contender at rest, process by process (the listed pid
        first); the templates' spare children."""
        parts: dict[str, list[Memory]] = {}
        spares: dict[bool, list[Memory]] = {}
        for mode in MODES:
            engine = (await self.start(mode)).engine
            try:
                await asyncio.sleep(SETTLE_SECONDS)
                assert engine.pid is not None
                parts[mode.name] = memories_of_tree(engine.pid)
                if mode.forked:
                    spares[mode.sandboxed] = self.spares(mode.sandboxed, [engine])
            finally:
                await self.stop([engine])
        if with_ipykernel:
            parts[IPYKERNEL] = await asyncio.to_thread(ipykernel_memory)
        return parts, spares

    async def crowd(self, mode: Mode, count: int) -> Crowd:
        """count engines of the mode started, BATCH at a time, until all answered; their
        memory; then all stopped at once."""
        engines: list[Engine] = []
        try:
            await asyncio.sleep(SETTLE_SECONDS)  # what the previous crowd held is given back
            kernel_before = kernel_mib()
            began = time.perf_counter()
            for first in range(0, count, BATCH):
                size = min(BATCH, count - first)
                started = await asyncio.gather(
                    *(self.start(mode) for _ in range(size)), return_exceptions=True
                )
                failures = [result for result in started if isinstance(result, BaseException)]
                engines += [s.engine for s in started if not isinstance(s, BaseException)]
                if failures:
                    raise BenchError(
                        f"{len(failures)} engines of the crowd ({mode.name}) failed to start, "
                        f"after {len(engines)} started: {failures[0]!r}"
                    ) from failures[0]
            seconds = time.perf_counter() - began
            await asyncio.sleep(SETTLE_SECONDS)
            kernel = kernel_mib() - kernel_before
            held = []
            for engine in engines:
                if engine.pid is not None:
                    try:
                        held.append(memory_of_tree(engine.pid))
                    except OSError:
                        continue
            template = memory_of(self.template_pid(mode.sandboxed))
        finally:
            stopping = time.perf_counter()
            await self.stop(engines)
            stop_seconds = time.perf_counter() - stopping
        return Crowd(mode, count, seconds, stop_seconds, held, kernel, template)

    async def stop_all(self) -> None:
        """Stop every engine still running (after an error)."""
        await self.stop(list(self.running))


async def measure(engine_type: EngineType, scale: Scale, folder: Path) -> Measures:
    """Every measure of one engine type, its workspaces under folder."""
    cgroups = Cgroups()
    workspaces = Workspaces(folder / "workspaces")
    sandboxes = Sandboxes(workspaces, [ROOT / "plugins"])
    templates = Templates(sandboxes)
    bench = Bench(engine_type, templates, sandboxes, cgroups)
    try:
        templates.sync(list(bench.types.values()))
        info = await bench.wait_for_templates()
        starts, workspace_times, answered = await bench.starts(scale)
        parts, spares = await bench.idle_memory(scale.ipykernel_starts > 0)
        template_memory = {s: memory_of(bench.template_pid(s)) for s in bench.types}
        crowds = {}
        for mode in CROWDS:
            crowds[mode.name] = await bench.crowd(mode, scale.crowd)
    finally:
        await bench.stop_all()
        await templates.close()
        cgroups.close()
    measures = Measures(
        starts,
        workspace_times,
        answered,
        {name: total(members) for name, members in parts.items()},
        parts,
        template_memory,
        spares,
        info,
        crowds,
    )
    measures.cgroups = ", ".join(f"{c.name} (v{c.version})" for c in cgroups.controllers)
    measures.workspace_count = next(bench.keys) - 1
    return measures


# -- what is left ----------------------------------------------------------------------------


def state_of(pid: int) -> str:
    """A process's state letter (Z: a zombie), or '' if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return ""


def end_leftovers() -> int:
    """Reap this run's ended children; kill, by pid, any of its processes still alive after
    LEFTOVER_SECONDS (spares and inits end a moment after their template). How many were."""
    deadline = time.monotonic() + LEFTOVER_SECONDS
    while True:
        for pid in descendants_of(os.getpid()):
            if state_of(pid) == "Z":
                with contextlib.suppress(ChildProcessError):  # a grandchild's: not ours
                    os.waitpid(pid, os.WNOHANG)
        alive = [pid for pid in descendants_of(os.getpid()) if state_of(pid) not in ("", "Z")]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return len(alive)


# -- running ---------------------------------------------------------------------------------


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


def measure_kind(engine_type: EngineType, scale: Scale) -> Measures:
    """Measure one engine type in a folder of workspaces of its own, removed after."""
    before = raise_open_files(scale.crowd)
    folder = Path(tempfile.mkdtemp(prefix="codenode-bench-"))
    leftovers = 0
    try:
        measures = asyncio.run(measure(engine_type, scale, folder))
    finally:
        leftovers = end_leftovers()
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
        shutil.rmtree(folder, ignore_errors=True)
    measures.leftovers = leftovers
    return measures
