"""Codenode's frontend: the browser's bus to an engine and back, against Jupyter Server.

Everything runs in one bench run, on 127.0.0.1 with ports the OS picks: a Codenode backend
(``bench.backend.Codenode``), a ``codenode frontend`` on a fresh environment folder (SQLite)
with that backend registered, and two Jupyter Servers: stock, and with TCP_NODELAY set on its
channels WebSockets (``bench.backend.Jupyter``). Two groups of measures:

1. the full path for ``2+2``: a client speaking the browser's bus protocol
   (``/api/notebooks/{id}/bus``, session cookie and Origin) sends ``evaluate`` and waits for
   the cell's ``result`` (its output ``4`` comes before it), through the frontend, the backend
   and the engine and back; side by side with the Codenode backend's own bus (no frontend) and
   Jupyter Server's channels execute_request until execute_result and execute_reply. The
   contenders take turns in blocks, so that noise on a shared machine falls on all of them;
2. many notebooks open at once: one bus per notebook, each evaluating ``2+2`` in a loop, for a
   fixed time; evaluations per second, latency, and the memory of the frontend and the backend;
   then the same notebooks offered fixed rates (open loop), each latency from when the
   evaluation was due.

The frontend, the backend and every server are stopped by their process handles at the end,
even on error. ``BENCH_FRONTEND_PROFILE=FILE`` runs the frontend under cProfile and leaves its
statistics in FILE (``python -m pstats FILE``), to see where the full path spends its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as connect_async
from websockets.sync.client import ClientConnection, connect

from bench import backend
from bench.backend import TIMEOUT, Codenode, Jupyter, Server, receive, receive_async
from bench.contenders import BenchError
from bench.engine import compile_codenode
from bench.memory import Memory, memory_of
from bench.report import Table, median, number, percentile

OURS = "Codenode frontend"
STOCK, NODELAY = "Jupyter Server", "Jupyter Server + TCP_NODELAY"
USERNAME = "bench"
SOURCE = "2+2"
MEDIAN_TARGET_MS = 1.0
RATIO_TARGET = 0.25  # of Jupyter Server's median with TCP_NODELAY
PROFILE_VARIABLE = "BENCH_FRONTEND_PROFILE"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Message = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    """How much is measured."""

    warmup: int = 50  # untimed calls at the start of each block
    calls: int = 1000  # timed calls of each contender, over all blocks
    blocks: int = 4  # turns each contender takes
    notebooks: int = 100  # open at once
    seconds: float = 30.0  # of evaluating in a loop, all of them
    # Evaluations a second offered to the same notebooks, spread evenly over them (open loop).
    paced_rates: tuple[float, ...] = (1000.0, 2000.0, 3000.0)


FULL = Scale()
QUICK = Scale(warmup=20, calls=200, blocks=2, seconds=5.0)


@dataclass(frozen=True)
class Notebook:
    """A notebook made for the bench: its id and its one cell's, whose source is 2+2."""

    id: str
    cell_id: str


@dataclass
class Crowd:
    """Notebooks evaluating at once: every latency (s) inside the window, and the memory."""

    notebooks: int
    seconds: float
    latencies: list[float]
    server_idle: Memory  # the web server (Codenode's frontend) before the crowd
    server: Memory  # at the end of the window
    backend: Memory
    engines_rss: float  # MiB, the engine processes summed


@dataclass
class Breakdown:
    """Where the full path's time goes, over its timed calls."""

    calls: int = 0
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # kind → s since sent
    cpu: dict[str, float] = field(default_factory=dict)  # process → CPU seconds, all calls


@dataclass
class Measures:
    """Round trips (s) of each contender, and the crowd."""

    trips: dict[str, list[float]] = field(default_factory=dict)
    breakdown: Breakdown = field(default_factory=Breakdown)
    crowd: Crowd | None = None
    paced: dict[float, Crowd] = field(default_factory=dict)  # offered rate → its crowd


# -- the frontend ------------------------------------------------------------------------------


class Frontend(Server):
    """``python -m codenode frontend`` on a new environment folder, signed in as one user."""

    def __init__(self, engines: Codenode) -> None:
        super().__init__(OURS)
        self.engines = engines
        self.password = secrets.token_urlsafe(16)
        self.cookie = ""  # the Cookie header a signed-in tab sends
        self.notebooks: list[Notebook] = []
        self.profile = os.environ.get(PROFILE_VARIABLE, "")
        self.breakdown = Breakdown()
        self.http.close()
        self.http = httpx.Client(timeout=TIMEOUT, trust_env=False)  # cookies, not a token

    @property
    def env(self) -> dict[str, str]:
        from codenode.frontend.db import default_url

        return {"CODENODE_HOME": str(self.path), "CODENODE_DATABASE_URL": default_url(self.path)}

    def start(self, notebooks: int) -> None:
        """Initialise the folder, fill the database, start the frontend and sign in."""
        init = subprocess.run(
            [sys.executable, "-m", "codenode", "init", str(self.path)],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if init.returncode != 0:
            raise BenchError(f"codenode init failed: {init.stderr}")
        self.notebooks = asyncio.run(self.prepare(notebooks))
        argv = [sys.executable, "-m", "codenode", "frontend", "--port", "0"]
        if self.profile:
            argv[1:1] = ["-m", "cProfile", "-o", os.path.abspath(self.profile)]
        self.spawn(argv, self.env)
        self.url = self.wait_for_listening()
        self.wait_for_http("/api/health")
        self.sign_in()

    def close(self) -> None:
        """Stop the frontend; when profiled, by SIGINT first, so that cProfile writes its file.

        (Uvicorn re-raises a SIGTERM after its shutdown, which ends the process at once.)
        """
        process = self.process
        if self.profile and process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(TIMEOUT)
        super().close()

    async def prepare(self, count: int) -> list[Notebook]:
        """The user, count notebooks of one ``2+2`` cell, the backend registered as "local"."""
        from codenode.frontend import notebooks
        from codenode.frontend.db import Backend, create_engine, session_factory
        from codenode.frontend.users import add_user

        engine = create_engine(self.env["CODENODE_DATABASE_URL"])
        try:
            async with session_factory(engine)() as db:
                user = await add_user(db, USERNAME, self.password)
                db.add(Backend(name="local", url=self.engines.url, token=self.engines.token))
                await db.commit()
                made = []
                for index in range(count):
                    notebook = await notebooks.create(
                        db, user.id, f"bench {index}", backend.COLD, [{"source": SOURCE}]
                    )
                    made.append(Notebook(notebook.id, notebook.cells[0].id))
                return made
        finally:
            await engine.dispose()

    def sign_in(self) -> None:
        """As a browser does: GET /api/session for the CSRF cookie, then POST /api/login."""
        csrf = self.http.get(self.url + "/api/session").json()["csrf"]
        answer = self.http.post(
            self.url + "/api/login",
            json={"username": USERNAME, "password": self.password},
            headers={"X-CSRF-Token": csrf},
        )
        if answer.status_code != 200:
            raise BenchError(f"POST /api/login answered {answer.status_code}: {answer.text}")
        self.cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    @property
    def tab_headers(self) -> dict[str, str]:
        """What a browser tab of this site sends when it opens a bus."""
        return {"Cookie": self.cookie, "Origin": self.url}

    def bus_url(self, notebook: Notebook) -> str:
        return f"{self.ws_url}/api/notebooks/{notebook.id}/bus?protocol=1&batches=1"  # as the page

    def round_trips(self, notebook: Notebook, warmup: int, calls: int) -> list[float]:
        """A tab on the notebook evaluates 2+2 warmup + calls times; the last calls' times.

        The timed calls also add to ``self.breakdown``: when each message arrived, and the CPU
        time the frontend, the backend and the engines spent.
        """
        with connect(
            self.bus_url(notebook),
            additional_headers=self.tab_headers,
            proxy=None,
            open_timeout=TIMEOUT,
        ) as ws:
            receive(ws, lambda m: m.get("type") == "notebook")
            for call in range(warmup):
                self.add(ws, notebook, call)
            before = self.cpu_seconds()
            arrivals = self.breakdown.arrivals
            times = [self.add(ws, notebook, call, arrivals) for call in range(calls)]
            after = self.cpu_seconds()
        for name, seconds in after.items():
            self.breakdown.cpu[name] = self.breakdown.cpu.get(name, 0.0) + seconds - before[name]
        self.breakdown.calls += calls
        return times

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of the frontend, the backend and (summed) its engines."""
        return {
            "frontend": cpu_seconds(self.pid),
            "backend": cpu_seconds(self.engines.pid),
            "engines": sum(cpu_seconds(pid) for pid in self.engines.children()),
        }

    @staticmethod
    def add(
        ws: ClientConnection,
        notebook: Notebook,
        call: int,
        arrivals: dict[str, list[float]] | None = None,
    ) -> float:
        """evaluate until the cell's result (its output before it); then, untimed, engine idle.

        With *arrivals*, each message's time since the request is added under its kind.
        """
        request = json.dumps(
            {"id": call, "op": "evaluate", "cell_id": notebook.cell_id, "source": SOURCE}
        )
        seen: list[Message] = []
        began = time.perf_counter()

        def note(message: Message) -> None:
            if arrivals is not None:
                kind = f"{message.get('type')} {message.get('state', '')}".strip()
                arrivals.setdefault(kind, []).append(time.perf_counter() - began)

        def result(message: Message) -> bool:
            note(message)
            seen.append(message)
            return is_result(message, notebook)

        def idle(message: Message) -> bool:
            note(message)
            return is_idle(message)

        ws.send(request)
        receive(ws, result)
        elapsed = time.perf_counter() - began
        check(seen, notebook)
        receive(ws, idle)
        return elapsed


def is_result(message: Message, notebook: Notebook) -> bool:
    return message.get("type") == "result" and message.get("cell_id") == notebook.cell_id


def is_idle(message: Message) -> bool:
    return message.get("type") == "engine" and message.get("state") == "idle"


def check(messages: list[Message], notebook: Notebook) -> None:
    """The messages up to a result carry the output 4 and the result no error."""
    printed = "".join(
        m["output"].get("text", "")
        for m in messages
        if m.get("type") == "output" and m.get("cell_id") == notebook.cell_id
    )
    if printed != "4\n" or "error" in messages[-1]:
        raise BenchError(f"the frontend answered 2+2 with {messages!r}")


# -- many notebooks at once --------------------------------------------------------------------


class Window:
    """What the clients of a crowd share: who is ready, and when to start and stop."""

    def __init__(self) -> None:
        self.ready: asyncio.Queue[None] = asyncio.Queue()
        self.go = asyncio.Event()
        self.stop = asyncio.Event()

    async def loop(self, add: Callable[[], Awaitable[float]]) -> list[float]:
        """Say ready, wait for the start, then add() until the stop; the latencies inside."""
        self.ready.put_nowait(None)
        await self.go.wait()
        latencies = []
        while not self.stop.is_set():
            latency = await add()
            if not self.stop.is_set():  # finished inside the window
                latencies.append(latency)
        return latencies

    async def paced(
        self, add: Callable[[], Awaitable[float]], period: float, phase: float
    ) -> list[float]:
        """As loop, but each add() is due *period* s after the last was due (the first
        *phase* s after the start); each latency runs from when it was due, so a client that
        falls behind counts its wait too."""
        self.ready.put_nowait(None)
        await self.go.wait()
        due = time.perf_counter() + phase
        latencies = []
        while not self.stop.is_set():
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
                if self.stop.is_set():
                    break
            late = time.perf_counter() - due
            elapsed = await add()
            if not self.stop.is_set():
                latencies.append(late + elapsed)
            due += period
        return latencies


async def _run_crowd(
    clients: list[Coroutine[Any, Any, list[float]]],
    window: Window,
    seconds: float,
    server: Server,
    engines: Server,
) -> Crowd:
    """Start the clients; when all are ready, let them run for *seconds*, then stop them."""
    server_idle = memory_of(server.pid)
    tasks = [asyncio.create_task(client) for client in clients]
    try:
        for _ in tasks:
            getter = asyncio.create_task(window.ready.get())
            done, _ = await asyncio.wait(
                [getter, *tasks],
                timeout=backend.CROWD_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if getter not in done:
                getter.cancel()
                failed = [task.exception() for task in done if task.done()]
                raise BenchError(f"{server.name}: a client of the crowd failed: {failed!r}")
        window.go.set()
        began = time.perf_counter()
        await asyncio.sleep(seconds)
        # Read with every client connected and every engine running, off the event loop.
        memory = await asyncio.to_thread(_crowd_memory, server, engines)
        window.stop.set()
        elapsed = time.perf_counter() - began
        results = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [latency for result in results for latency in result]
    return Crowd(len(tasks), elapsed, latencies, server_idle, *memory)


def _crowd_memory(server: Server, engines: Server) -> tuple[Memory, Memory, float]:
    """The memory of the server and of the backend, and the engines' RSS summed."""
    rss = 0.0
    for pid in engines.children():
        with contextlib.suppress(OSError):
            rss += memory_of(pid).rss
    return memory_of(server.pid), memory_of(engines.pid), rss


# Codenode: a tab per notebook on the frontend's bus.


async def _add_async(ws: AsyncConnection, notebook: Notebook) -> float:
    """One evaluate until its result; the engine's idle, which follows, read untimed."""
    began = time.perf_counter()
    await ws.send(json.dumps({"op": "evaluate", "cell_id": notebook.cell_id, "source": SOURCE}))
    await receive_async(ws, lambda m: is_result(m, notebook))
    elapsed = time.perf_counter() - began
    await receive_async(ws, is_idle)
    return elapsed


async def _tab(
    frontend: Frontend, notebook: Notebook, window: Window, pace: tuple[float, float] | None
) -> list[float]:
    """Open the notebook's bus, start its engine (untimed), then 2+2 in the window: in a loop,
    or every pace[0] s from pace[1] s after the start."""
    async with connect_async(
        frontend.bus_url(notebook),
        additional_headers=frontend.tab_headers,
        proxy=None,
        open_timeout=backend.CROWD_TIMEOUT,
        max_size=None,
    ) as ws:
        await receive_async(ws, lambda m: m.get("type") == "notebook")
        await _add_async(ws, notebook)  # the engine starts
        if pace is None:
            return await window.loop(lambda: _add_async(ws, notebook))
        return await window.paced(lambda: _add_async(ws, notebook), *pace)


def crowd_of_tabs(frontend: Frontend, scale: Scale, rate: float | None = None) -> Crowd:
    """scale.notebooks tabs on as many notebooks, each with its engine, evaluating at once:
    each in a loop, or (rate) together *rate* evaluations a second, evenly spread."""
    chosen = frontend.notebooks[1 : 1 + scale.notebooks]  # the first is the round trips'

    def pace(index: int) -> tuple[float, float] | None:
        if rate is None:
            return None
        period = len(chosen) / rate  # each tab's; their phases spread over one period
        return period, period * index / len(chosen)

    async def run() -> Crowd:
        window = Window()
        tabs = [_tab(frontend, notebook, window, pace(i)) for i, notebook in enumerate(chosen)]
        return await _run_crowd(tabs, window, scale.seconds, frontend, frontend.engines)

    return asyncio.run(run())


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# -- measuring ---------------------------------------------------------------------------------


@contextlib.contextmanager
def running(scale: Scale) -> Iterator[tuple[Frontend, Codenode, Jupyter, Jupyter]]:
    """The backend, the frontend and both Jupyter Servers; all stopped on the way out."""
    engines = Codenode()
    frontend = Frontend(engines)
    stock, nodelay = Jupyter(), Jupyter(nodelay=True)
    try:
        engines.start()
        frontend.start(1 + scale.notebooks)
        stock.start()
        nodelay.start()
        yield frontend, engines, stock, nodelay
    finally:
        for server in (frontend, engines, stock, nodelay):  # the frontend before its backend
            with contextlib.suppress(Exception):
                server.close()


def measure(scale: Scale) -> Measures:
    """The round trips, in turns, then the crowd."""
    measures = Measures()
    per_block = scale.calls // scale.blocks
    block = backend.Scale(warmup=scale.warmup, calls=per_block)
    with running(scale) as (frontend, engines, stock, nodelay):
        contenders: dict[str, Callable[[], list[float]]] = {
            OURS: lambda: frontend.round_trips(frontend.notebooks[0], scale.warmup, per_block),
            backend.OURS: lambda: engines.round_trips(block),
            STOCK: lambda: stock.round_trips(block),
            NODELAY: lambda: nodelay.round_trips(block),
        }
        for name in contenders:
            measures.trips[name] = []
        for turn in range(scale.blocks):
            order = list(contenders)
            if turn % 2:
                order.reverse()
            for name in order:
                measures.trips[name] += contenders[name]()
        measures.breakdown = frontend.breakdown
        measures.crowd = crowd_of_tabs(frontend, scale)
        for rate in scale.paced_rates:
            measures.paced[rate] = crowd_of_tabs(frontend, scale, rate)
    return measures


# -- tables ------------------------------------------------------------------------------------


def _ratio(ours: float, theirs: float) -> str:
    return number(ours / theirs) if theirs else "∞"


def tables(measures: Measures, scale: Scale) -> list[Table]:
    """The full path against Jupyter Server, and the crowd."""
    ms = 1000.0
    trips = measures.trips
    ours = trips[OURS]
    columns = (
        "measure",
        OURS,
        "Codenode backend alone",
        STOCK,
        NODELAY,
        f"{OURS}/{STOCK}",
        f"{OURS}/{NODELAY}",
        "target",
    )
    path = Table(
        f"Full path: `2+2` from the browser's bus to the engine and back (ms, {len(ours)} calls)",
        columns=columns,
    )
    for label, statistic in (("median", median), ("p99", _p99)):
        values = {name: statistic(times) * ms for name, times in trips.items()}
        target = ""
        if label == "median":
            mine, peer = values[OURS], values[NODELAY]
            met_ms = "met" if mine <= MEDIAN_TARGET_MS else "MISSED"
            met_ratio = "met" if mine / peer <= RATIO_TARGET else "MISSED"
            target = (
                f"≤ {MEDIAN_TARGET_MS:g} ms ({met_ms}); ≤ {RATIO_TARGET:g} of "
                f"TCP_NODELAY ({met_ratio})"
            )
        path.rows.append(
            [
                label,
                number(values[OURS]),
                number(values[backend.OURS]),
                number(values[STOCK]),
                number(values[NODELAY]),
                _ratio(values[OURS], values[STOCK]),
                _ratio(values[OURS], values[NODELAY]),
                target,
            ]
        )
    path.notes.append(
        f"Each contender in {scale.blocks} turns of {scale.calls // scale.blocks} timed calls "
        f"after {scale.warmup} untimed ones, turns alternating. *{OURS}*: a signed-in tab on "
        "`/api/notebooks/{id}/bus` sends `evaluate` and waits for the cell's `result` (its "
        "output `4` comes before it); the frontend (SQLite) passes it to the backend's engine "
        "bus and the answers back. *Codenode backend alone*: the backend's engine bus, no "
        "frontend (the last hop of the full path). *Jupyter Server*: channels WebSocket "
        "execute_request until both the execute_result and the execute_reply; stock Tornado "
        "leaves TCP_NODELAY off, so replies wait for delayed ACKs; *+ TCP_NODELAY*: the same "
        "server with it set on every channels WebSocket (a config file patch)."
    )

    assert measures.crowd is not None
    return [
        path,
        breakdown_table(measures.breakdown),
        crowd_table(measures.crowd),
        paced_table(measures.paced, scale),
    ]


def crowd_table(crowd: Crowd) -> Table:
    """Many notebooks evaluating at once: throughput, latency, memory."""
    ms = 1000.0
    table = Table(
        f"{crowd.notebooks} notebooks evaluating `2+2` at once for {crowd.seconds:.0f} s",
        columns=("measure", OURS),
    )
    latencies = crowd.latencies
    table.rows += [
        ["evaluations per second, total", number(len(latencies) / crowd.seconds)],
        ["evaluations", f"{len(latencies):,}"],
        ["latency p50 (ms)", number(median(latencies) * ms)],
        ["latency p99 (ms)", number(_p99(latencies) * ms)],
        ["frontend RSS before (MiB)", number(crowd.server_idle.rss)],
        [f"frontend RSS, {crowd.notebooks} tabs open (MiB)", number(crowd.server.rss)],
        [f"backend RSS, {crowd.notebooks} engines (MiB)", number(crowd.backend.rss)],
        ["engines' RSS, summed (MiB)", number(crowd.engines_rss)],
    ]
    table.notes.append(
        f"{crowd.notebooks} tabs, one per notebook and one engine each, driven by one client "
        "process (asyncio, websockets' asyncio client) on the same machine as the servers and "
        "the engines: every process shares the same CPUs. Each tab opens its bus, evaluates "
        "once to start its engine, then, when all are ready, evaluates in a loop (the next "
        "`evaluate` after the previous `result` and the engine's `idle`). Counted: evaluations "
        "finished inside the window. *before*: after the round trips, one engine bound. Memory "
        "read from /proc at the end of the window, every tab still open; the engines' sum "
        f"includes the backend's {backend.POOL_SIZE} pooled engines. Jupyter Server is not in "
        "this table: on this shared machine 100 kernels started together collide on ZMQ ports "
        "('Address already in use'), and started four at a time they took minutes and one "
        "still stopped answering."
    )
    return table


def paced_table(paced: dict[float, Crowd], scale: Scale) -> Table:
    """The same notebooks offered a fixed rate: what they kept up with, and how late."""
    ms = 1000.0
    table = Table(
        f"{scale.notebooks} notebooks offered a fixed rate of `2+2` for {scale.seconds:.0f} s",
        columns=("offered (evaluations/s)", "done per second", "latency p50 (ms)", "p99 (ms)"),
    )
    for rate, crowd in paced.items():
        latencies = crowd.latencies
        table.rows.append(
            [
                f"{rate:,.0f}",
                number(len(latencies) / crowd.seconds),
                number(median(latencies) * ms),
                number(_p99(latencies) * ms),
            ]
        )
    table.notes.append(
        "Open loop: the same tabs as the crowd above, each sending its `evaluate` on a "
        "schedule (every notebooks / rate seconds, the tabs' phases spread evenly), not when "
        "its last one ended. A latency runs from when the evaluation was due, so a tab that "
        "falls behind counts its wait: at a rate the machine cannot keep up with they grow "
        "through the window. This is the measure for the targets of at least 3,000 "
        "evaluations/s with p99 at most 20 ms; the crowd above keeps 100 in flight, so its "
        "latency is 100 / throughput by Little's law."
    )
    return table


def breakdown_table(breakdown: Breakdown) -> Table:
    """When each message of an evaluation reached the tab, and whose CPU time it cost."""
    ms = 1000.0
    table = Table(
        f"Full path: where the time goes (ms, {breakdown.calls} calls)",
        columns=("measure", OURS),
    )
    for kind, times in breakdown.arrivals.items():
        table.rows.append([f"`{kind}` reached the tab, median", number(median(times) * ms)])
    for name, seconds in breakdown.cpu.items():
        table.rows.append(
            [f"CPU time of the {name}, per call", number(seconds / breakdown.calls * ms)]
        )
    total = sum(breakdown.cpu.values()) / breakdown.calls * ms
    table.rows.append(["CPU time of the three, per call", number(total)])
    table.notes.append(
        "The same timed calls as the full path. Messages in the order the frontend sends "
        "them for one `evaluate`; the tab asks for batches (`?batches=1`), so those ready "
        "together share a frame (the output, the result and idle, mostly). CPU time "
        "(user + system) from "
        f"/proc/PID/stat, in ticks of {1000 / CLOCK_TICKS:g} ms, over all the calls; the engines "
        f"include the backend's {backend.POOL_SIZE} idle pooled ones. On a machine with few "
        "cores this matters: the path is mostly serial (one process works while the others "
        "wait), so the latency stays close to that sum."
    )
    return table


def _p99(values: list[float]) -> float:
    return percentile(values, 99)


def run(quick: bool = False) -> list[Table]:
    """Start the servers, measure, stop them; the tables."""
    scale = QUICK if quick else FULL
    compile_codenode()
    return tables(measure(scale), scale)
