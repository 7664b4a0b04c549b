"""Running engines: each one a supervised process, with the bus clients attached to it.

An Engine reads every frame its process sends and routes it: replies to the client whose
request they answer (request ids are rewritten on the way in, so clients never clash), state
changes and output between evaluations to every client. Death is noticed at once, explained,
and told to every client. Stopping goes in steps: ask, SIGTERM, SIGKILL.

An engine that speaks another engine protocol than this backend's is refused at its start.
A frame over the wire's limit is never read on past: user code can write to its engine's
socket, and a false length would swallow the real frames after it. The engine that sent it is
killed, and its cells are told why (protocol/frames.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from codenode.backend.cgroups import Cgroups
from codenode.backend.enginetype import EngineType
from codenode.backend.errors import EngineStartError
from codenode.backend.launch import EngineProcess, Launched, explain_exit, launch, signal_name
from codenode.backend.sandboxes import Sandbox
from codenode.protocol import engine as wire

log = logging.getLogger("codenode.backend")
Message = dict[str, Any]
FINAL_TYPES = ("result", "reply", "error")
STDERR_LINES = 20
# Starts an engine process: exec (launch.launch) or a fork from a template (templates.py).
Launcher = Callable[[EngineType, Sequence[Path], bool, Sandbox | None], Awaitable[Launched]]
ASK_SECONDS = 1.0  # for each step of stopping
TERM_SECONDS = 2.0


class Subscriber:
    """One bus client: messages for it wait in a queue that its WebSocket drains."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue()

    def deliver(self, message: Message) -> None:
        """Queue one message for this client."""
        self.queue.put_nowait(message)


class _Nobody(Subscriber):
    """Where the answers to the backend's own requests go: nowhere."""

    def deliver(self, message: Message) -> None:
        return None


_NOBODY = _Nobody()


@dataclass
class Route:
    """Where replies to one engine-side request id go."""

    subscriber: Subscriber
    client_id: Any
    op: str


class Engine:
    """One engine process of one type, under supervision. See the module docstring."""

    def __init__(
        self,
        engine_type: EngineType,
        cgroups: Cgroups | None = None,
        launcher: Launcher = launch,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.sandbox = sandbox
        self.launcher = launcher
        self.forked = False
        self.cgroups = cgroups
        self.type = engine_type
        self.state = "starting"
        self.pid: int | None = None
        self.started = time.time()
        self.last_activity = self.started
        self.exit: dict[str, Any] = {}
        self.subscribers: set[Subscriber] = set()
        # Since when no bus client holds the engine (monotonic), None while one does: engines
        # that no frontend holds for the backend's grace period are stopped (EngineTable).
        self.unwatched_since: float | None = time.monotonic()
        self.evaluations = 0
        self._process: EngineProcess | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._routes: dict[int, Route] = {}
        self._ids = itertools.count(1)
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._killed_because: str | None = None  # why the backend killed it, if it did
        self.died = asyncio.Event()
        self.on_death: Callable[[Engine], None] | None = None  # not called when asked to stop

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the process and wait for its ready frame (EngineStartError if none comes)."""
        self.state, self.exit, self._stopping = "starting", {}, False
        self._killed_because = None
        self.died = asyncio.Event()
        procs = [] if self.cgroups is None else self.cgroups.create(self.id, self.type.limits)
        in_cgroup = self.cgroups is not None and self.cgroups.has("memory")
        launched = await self.launcher(self.type, procs, in_cgroup, self.sandbox)
        self._process = launched.process
        self.forked = launched.forked
        self.pid = launched.process.pid
        self.started = self.last_activity = time.time()
        stream, self._writer = await asyncio.open_unix_connection(sock=launched.sock)
        reader = wire.AsyncFrameReader(stream)
        self._tasks = [asyncio.create_task(self._read_stderr())]
        try:
            ready = await asyncio.wait_for(reader.read(), self.type.start_timeout)
        except (TimeoutError, wire.FrameError, OSError) as exc:
            if isinstance(exc, TimeoutError):
                reason = f"did not say ready within {self.type.start_timeout:g} s"
            elif isinstance(exc, wire.FrameError):
                reason = f"sent a bad first frame: {exc}"
            else:
                reason = "exited before saying ready"
            await self._refuse_start(reason, exc)
        refusal = _refusal(ready)
        if refusal is not None:
            await self._refuse_start(refusal)
        self.state = "idle"
        self._tasks += [
            asyncio.create_task(self._read_engine(reader)),
            asyncio.create_task(self._wait_exit()),
        ]
        log.info("engine started: %s (%s) pid %s", self.id, self.type.name, self.pid)

    async def _refuse_start(self, reason: str, cause: BaseException | None = None) -> NoReturn:
        """Kill the process that failed to start; EngineStartError saying why."""
        await self._kill_group()
        self._forget_cgroups()
        await asyncio.sleep(0)  # let the stderr reader take the last lines
        tail = self.stderr_tail()
        self._cancel_tasks()
        raise EngineStartError(self.type.name, reason, tail) from cause

    async def stop(self) -> None:
        """Stop the process: ask it, then SIGTERM, then SIGKILL; return when it is gone."""
        if self._process is None or self._process.returncode is not None:
            return
        self._stopping = True
        steps = (self._ask_to_exit, self._terminate, self._kill_group)
        for step, seconds in zip(steps, (ASK_SECONDS, TERM_SECONDS, 10.0), strict=True):
            await step()
            try:
                await asyncio.wait_for(self._process.wait(), seconds)
                break
            except TimeoutError:
                continue
        await self.died.wait()

    async def restart(self) -> None:
        """A fresh process under the same id."""
        await self.stop()
        self._cancel_tasks()
        await self.start()
        self._broadcast_state()

    async def interrupt(self) -> None:
        """SIGINT to the engine's process group: KeyboardInterrupt in the running cell. Then
        an ``interrupt`` request naming that cell, behind it on the socket: a SIGINT that came
        before the engine read the cell is raised again (protocol/engine.py)."""
        if self.pid is None or self.state not in ("busy", "idle"):
            return
        _signal_group(self.pid, signal.SIGINT)
        running = next((i for i, r in self._routes.items() if r.op == "evaluate"), None)
        if running is not None:
            engine_id = next(self._ids)
            self._routes[engine_id] = Route(_NOBODY, None, "interrupt")  # its reply goes nowhere
            await self._send({"id": engine_id, "op": "interrupt", "evaluation": running})

    async def _ask_to_exit(self) -> None:
        await self._send({"id": 0, "op": "shutdown"})

    async def _terminate(self) -> None:
        if self.pid is not None:
            _signal_group(self.pid, signal.SIGTERM)

    async def _kill_group(self) -> None:
        if self.pid is not None:
            _signal_group(self.pid, signal.SIGKILL)
        if self._process is not None:
            await self._process.wait()

    async def _wait_exit(self) -> None:
        assert self._process is not None
        returncode = await self._process.wait()
        await asyncio.sleep(0.05)  # the stderr reader may still hold the last lines
        # Whatever the engine left running in its process group goes with it.
        _signal_group(self._process.pid, signal.SIGKILL)
        oom = self.cgroups is not None and self.cgroups.oom_killed(self.id)
        oom_known = self.cgroups is not None and self.cgroups.has("memory")
        self._forget_cgroups()
        self.state = "dead"
        reason = explain_exit(returncode, self.type.limits, self._stopping, oom, oom_known)
        self.exit = {"reason": self._killed_because or reason}
        if returncode >= 0:
            self.exit["exit_code"] = returncode
        else:
            self.exit["signal"] = signal_name(-returncode)
        self.exit["stderr"] = self.stderr_tail()
        level = logging.INFO if self._stopping else logging.WARNING
        log.log(level, "engine %s (%s): %s", self.id, self.type.name, self.exit["reason"])
        for route in self._routes.values():
            route.subscriber.deliver(
                {"id": route.client_id, "type": "error", "message": f"engine {self.exit['reason']}"}
            )
        self._routes.clear()
        self._broadcast_state()
        if not self._stopping and self.on_death is not None:
            self.on_death(self)
        if self._writer is not None:
            self._writer.close()
        self.died.set()

    def _forget_cgroups(self) -> None:
        if self.cgroups is not None:
            self.cgroups.remove(self.id)

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    def stderr_tail(self) -> str:
        """The last lines the engine wrote to its own stderr."""
        return "".join(self._stderr)

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for line in self._process.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))

    # -- the bus ----------------------------------------------------------------------------

    async def request(self, subscriber: Subscriber, message: Message) -> None:
        """Pass a client's request on to the engine, its id rewritten."""
        if self.state in ("dead", "starting"):
            subscriber.deliver(
                {"id": message.get("id"), "type": "error", "message": f"engine is {self.state}"}
            )
            return
        op = message["op"]
        engine_id = next(self._ids)
        if op != "input_reply":
            self._routes[engine_id] = Route(subscriber, message.get("id"), op)
        if op == "evaluate":
            self.evaluations += 1
            if self.state == "idle":
                self.state = "busy"
                self._broadcast_state()
        self.last_activity = time.time()
        await self._send({**message, "id": engine_id})

    async def _send(self, message: Message) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        try:
            self._writer.write(wire.encode(message))
            await self._writer.drain()
        except (ConnectionError, OSError):
            pass  # the exit watcher reports the death

    async def _read_engine(self, reader: wire.AsyncFrameReader) -> None:
        while True:
            try:
                message = await reader.read()
            except wire.FrameTooLarge as exc:  # what follows may not be frames: read no more
                await self._kill_for(f"it sent {exc}")
                return
            except wire.FrameError as exc:  # its body was read: the stream is still in step
                log.warning("engine %s sent a bad frame: %s", self.id, exc)
                continue
            except (ConnectionError, OSError):
                return
            if message is None:
                return
            self.last_activity = time.time()
            self._route(message)

    async def _kill_for(self, reason: str) -> None:
        """Kill the engine for something it did; its cells and clients are told reason."""
        self._killed_because = f"killed: {reason}"
        log.warning("engine %s (%s) %s", self.id, self.type.name, self._killed_because)
        if self._writer is not None:
            self._writer.close()
        await self._kill_group()  # the exit watcher tells everyone

    def watch(self, subscriber: Subscriber) -> None:
        """A bus client holds the engine from now on."""
        self.subscribers.add(subscriber)
        self.unwatched_since = None

    def unwatch(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers:
            self.unwatched_since = time.monotonic()

    def _route(self, message: Message) -> None:
        # An id that is no request's (user code can write to the engine's socket: a list, an
        # object) routes nowhere: everyone sees it, and the frontend judges it.
        # The message is this reader's own, fresh from its frame: its id is rewritten in place.
        request_id = message.get("id")
        engine_id = request_id if isinstance(request_id, int) else -1
        route = self._routes.get(engine_id)
        if route is None:  # output between evaluations: everyone sees it
            message["id"] = None
            for subscriber in self.subscribers:
                subscriber.deliver(message)
            return
        message["id"] = route.client_id
        route.subscriber.deliver(message)
        if message.get("type") in FINAL_TYPES:
            del self._routes[engine_id]
            if route.op == "evaluate" and not any(
                r.op == "evaluate" for r in self._routes.values()
            ):
                self.state = "idle"
                self._broadcast_state()

    def _broadcast_state(self) -> None:
        event: Message = {"type": "state", "state": self.state}
        if self.state == "dead":
            event.update(self.exit)
        for subscriber in self.subscribers:
            subscriber.deliver(event)

    # -- listing ----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The engine as the admin channel lists it."""
        info: dict[str, Any] = {
            "id": self.id,
            "type": self.type.name,
            "state": self.state,
            "pid": self.pid,
            "forked": self.forked,
            "workspace": self.sandbox.workspace.key if self.sandbox else None,
            "started": self.started,
            "last_activity": self.last_activity,
            "rss_bytes": _rss_bytes(self.pid) if self.state != "dead" else 0,
        }
        if self.state == "dead":
            info["exit"] = self.exit
        return info


def _refusal(ready: Message | None) -> str | None:
    """Why an engine's first message does not let it start, or None: it must be a ready of
    this backend's engine protocol."""
    if ready is None:
        return "exited before saying ready"
    if ready.get("type") != "ready":
        return "did not say ready"
    spoken = ready.get("protocol")
    if spoken != wire.PROTOCOL_VERSION:
        return (
            f"speaks engine protocol {spoken!r}, and this backend speaks"
            f" {wire.PROTOCOL_VERSION}: give the engine this backend's version of Codenode"
            " (its codenode.engine and codenode.protocol packages)"
        )
    problem = wire.MESSAGES.problem(ready)
    return None if problem is None else f"sent a malformed ready message: {problem}"


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, signum)


def _rss_bytes(pid: int | None) -> int:
    """Resident memory of the process, and of its children for a sandboxed engine (whose
    process is its sandbox's launcher or init, the engine its child)."""
    if pid is None:
        return 0
    try:
        with open(f"/proc/{pid}/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return rss + sum(_rss_bytes(int(child)) for child in children.read().split())
    except (OSError, ValueError, IndexError):
        return 0
