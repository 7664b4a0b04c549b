"""Codenode's backend against Jupyter Server + ipykernel, over HTTP and WebSocket, in one run.

Both servers are started here, each in its own temporary folder, on 127.0.0.1 with a port the
OS picks and a token, and stopped by their process handles at the end, even on error. Three
groups of measures, each a table:

1. engine start over HTTP until the engine answers: Codenode ``POST /engines``, then the bus
   WebSocket until the ``result`` of ``2+2``, from a type without a pool (cold) and from a type
   with a pool of 2 (full before each start); Jupyter Server ``POST /api/kernels``, then the
   channels WebSocket until the kernel_info_reply and until the execute_result of ``2+2``;
2. round trip of ``2+2`` on a warm engine over the WebSocket;
3. many engines started at once: time until every one answered, and the memory of the server
   and its engines afterwards.

Starts alternate between the contenders, so that noise on a shared machine falls on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect as connect_async
from websockets.sync.client import ClientConnection, connect

from bench.contenders import BenchError
from bench.engine import compile_codenode
from bench.memory import Memory, memory_of
from bench.report import Table, compare, median, number, percentile
from codenode.protocol import batches
from codenode.protocol.evaluation import Evaluation

TIMEOUT = 60.0  # any one wait: a server's start, an answer, a stop
CROWD_TIMEOUT = 300.0  # many engines at once on a small machine
ROOT = Path(__file__).resolve().parents[1]
COLD, POOLED = "python", "pooled"  # Codenode engine types: no pool, and a pool of POOL_SIZE
POOL_SIZE = 2
KERNEL = "python3"
OURS, THEIRS = "Codenode", "Jupyter Server"
COLUMNS = ("measure", OURS, THEIRS, f"{OURS}/{THEIRS}", "target")
POOLED_TARGET_MS = 10.0
ROUND_TRIP_TARGET = 0.33
SETTLE_SECONDS = 1.0

Message = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    """How many times each thing is measured."""

    starts: int = 10
    warmup: int = 50
    calls: int = 1000
    crowd: int = 50


FULL = Scale()
QUICK = Scale(starts=3, warmup=20, calls=200, crowd=10)


@dataclass(frozen=True)
class Start:
    """Seconds from asking for an engine to: the HTTP answer, its first answer, 2+2's result.

    Codenode's first answer is the result of 2+2; Jupyter's is the kernel_info_reply.
    """

    posted: float
    answered: float
    first_result: float


@dataclass(frozen=True)
class Crowd:
    """Many engines asked for at once: seconds until every POST and every 2+2 was answered."""

    posted: float
    answered: float
    server: Memory  # the server process, with all the engines running
    engines_rss: float  # MiB, summed over the server's child processes
    engines_uss: float


@dataclass
class Measures:
    """Everything measured of one server; times in seconds."""

    starts: list[Start] = field(default_factory=list)
    pooled: list[Start] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)
    idle: Memory | None = None
    crowd: Crowd | None = None


# -- the two servers -------------------------------------------------------------------------


class Server:
    """A server process started by the bench in a temporary folder, and an HTTP client for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.folder = tempfile.TemporaryDirectory(prefix=f"bench-{name.split()[0].lower()}-")
        self.path = Path(self.folder.name)
        self.token = secrets.token_urlsafe(24)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.http = httpx.Client(headers=self.headers, timeout=TIMEOUT, trust_env=False)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} is not started")
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def spawn(self, argv: list[str], env: dict[str, str]) -> None:
        """Start the server process; its stdout and stderr go to files in its folder."""
        with (
            open(self.path / "stdout.log", "wb") as out,
            open(self.path / "stderr.log", "wb") as err,
        ):
            self.process = subprocess.Popen(  # the child keeps its own copies of the files
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.path,
                env={**os.environ, **env},
                start_new_session=True,  # Ctrl-C reaches the bench, which stops it by its handle
            )

    def wait_until(self, found: Callable[[], str | None], what: str) -> str:
        """Poll found() until it gives a value; BenchError if the process dies or time is up."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.process.returncode}){self.log()}")
            value = found()
            if value is not None:
                return value
            time.sleep(0.05)
        raise BenchError(f"{self.name}: no {what} in {TIMEOUT:g} s{self.log()}")

    def wait_for_listening(self) -> str:
        """The URL from the ``listening on`` line that Codenode's servers print first."""

        def listening() -> str | None:
            text = (self.path / "stdout.log").read_text(errors="replace")
            found = re.search(r"listening on (http://\S+)", text)
            return found.group(1) if found else None

        return self.wait_until(listening, "'listening on' line")

    def wait_for_http(self, path: str) -> None:
        def answers() -> str | None:
            try:
                return "ok" if self.http.get(self.url + path).status_code == 200 else None
            except httpx.TransportError:
                return None

        self.wait_until(answers, f"answer to GET {path}")

    def log(self) -> str:
        """The end of the server's stderr, to explain a failure."""
        try:
            text = (self.path / "stderr.log").read_text(errors="replace")
        except OSError:
            return ""
        return "; its stderr ends:\n" + text[-4000:]

    def children(self) -> list[int]:
        """Process ids of the server's children (its engines or kernels)."""
        return [pid for pid, _ in _children(self.pid)]

    def close(self) -> None:
        """SIGTERM the server (it stops its engines), SIGKILL it and them if it lingers."""
        self.http.close()
        process = self.process
        if process is not None and process.poll() is None:
            children = _children(process.pid)
            process.terminate()
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(TIMEOUT)
            for pid, started in children:  # only if still the very process seen before
                if _start_time(pid) == started:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        self.folder.cleanup()


class Codenode(Server):
    """``python -m codenode backend`` with a plug-in file of two Python engine types."""

    def __init__(self) -> None:
        super().__init__(OURS)
        self.plugins = self.path / "plugins"
        self.engines = self.path / "engines"  # the engines' working directory

    def start(self) -> None:
        self.plugins.mkdir()
        self.engines.mkdir()
        # sandbox=False: a backend keeps pools only for unsandboxed types (a pooled engine is
        # started before anyone names its workspace), and both types stay alike. What the
        # sandbox costs is measured by bench/templates.py.
        declare = (
            "EngineType(name={name!r}, bin={bin!r}, args=['-m', 'codenode.engine'], "
            "env={{'PYTHONPATH': {root!r}}}, path={path!r}, pool={pool}, sandbox=False)\n"
        )
        common = {"bin": sys.executable, "root": str(ROOT), "path": str(self.engines)}
        (self.plugins / "bench.py").write_text(
            "from codenode.backend.enginetype import EngineType\n"
            + f"cold = {declare.format(name=COLD, pool=0, **common)}"
            + f"pooled = {declare.format(name=POOLED, pool=POOL_SIZE, **common)}"
        )
        argv = [sys.executable, "-m", "codenode", "backend", "--port", "0"]
        argv += ["--plugins", str(self.plugins)]
        self.spawn(argv, {"CODENODE_BACKEND_TOKEN": self.token, "CODENODE_HOME": str(self.path)})
        self.url = self.wait_for_listening()
        self.wait_for_http("/health")
        self.wait_for_pool()

    def wait_for_pool(self) -> None:
        """Until the pooled type's pool is full (read off GET /metrics)."""
        full = f'codenode_engines{{state="pooled",type="{POOLED}"}} {float(POOL_SIZE)}'

        def is_full() -> str | None:
            return "full" if full in self.http.get(self.url + "/metrics").text else None

        self.wait_until(is_full, f"full pool of {POOL_SIZE}")

    def bus(self, engine_id: str) -> ClientConnection:
        return connect(
            f"{self.ws_url}/engines/{engine_id}/bus?batches=1",  # as the frontend asks
            additional_headers=self.headers,
            proxy=None,
            open_timeout=TIMEOUT,
        )

    def start_engine(self, type_name: str) -> Start:
        """Ask for an engine, evaluate 2+2 on its bus; the times. The engine is stopped."""
        began = time.perf_counter()
        answer = self.http.post(self.url + "/engines", json={"type": type_name})
        posted = time.perf_counter() - began
        if answer.status_code != 201:
            raise BenchError(f"POST /engines answered {answer.status_code}: {answer.text}")
        engine_id = answer.json()["id"]
        try:
            with self.bus(engine_id) as ws:
                ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "2+2"}))
                _check_result(result_of(ws, 1))
                answered = time.perf_counter() - began
        finally:
            self.stop_engine(engine_id)
        return Start(posted, answered, answered)

    def stop_engine(self, engine_id: str) -> None:
        answer = self.http.delete(f"{self.url}/engines/{engine_id}")
        if answer.status_code != 204:
            raise BenchError(f"DELETE /engines/{engine_id} answered {answer.status_code}")

    def round_trips(self, scale: Scale) -> list[float]:
        """scale.calls evaluations of 2+2 on one warm engine, after scale.warmup."""
        answer = self.http.post(self.url + "/engines", json={"type": COLD})
        engine_id = answer.json()["id"]
        try:
            with self.bus(engine_id) as ws:
                receive(ws, lambda m: m.get("type") == "state")  # sent to every new client
                times = [self.add(ws, call) for call in range(scale.warmup + scale.calls)]
        finally:
            self.stop_engine(engine_id)
        return times[scale.warmup :]

    @staticmethod
    def add(ws: ClientConnection, call: int) -> float:
        """2+2 until its ``result``; the engine's idle state, which follows, is read untimed."""
        request = json.dumps({"id": call, "op": "evaluate", "code": "2+2"})
        began = time.perf_counter()
        ws.send(request)
        result = result_of(ws, call)
        elapsed = time.perf_counter() - began
        _check_result(result)
        receive(ws, lambda m: m.get("type") == "state" and m["state"] == "idle")
        return elapsed

    async def start_async(self, http: httpx.AsyncClient, began: float) -> tuple[str, float, float]:
        """One engine of the crowd: its id, when its POST and its 2+2 were answered."""
        answer = await http.post(self.url + "/engines", json={"type": COLD})
        posted = time.perf_counter() - began
        if answer.status_code != 201:
            raise BenchError(f"POST /engines answered {answer.status_code}: {answer.text}")
        engine_id = answer.json()["id"]
        url = f"{self.ws_url}/engines/{engine_id}/bus?batches=1"
        async with connect_async(
            url, additional_headers=self.headers, proxy=None, open_timeout=CROWD_TIMEOUT
        ) as ws:
            await ws.send(json.dumps({"id": 1, "op": "evaluate", "code": "2+2"}))
            evaluation = Evaluation(1)
            await receive_async(ws, evaluation.add, CROWD_TIMEOUT)
            _check_result(evaluation.result())
        return engine_id, posted, time.perf_counter() - began

    async def stop_async(self, http: httpx.AsyncClient, engine_id: str) -> None:
        await http.delete(f"{self.url}/engines/{engine_id}")


# A Jupyter Server configuration file (it is Python, run at start) that sets TCP_NODELAY on
# every kernel channels WebSocket, as Tornado's documentation suggests for sockets that send
# small messages and wait for the answer. Stock Jupyter Server leaves it off.
NODELAY_CONFIG = """\
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

_open = KernelWebsocketHandler.open


async def _open_without_delay(self, *args, **kwargs):
    self.set_nodelay(True)
    return await _open(self, *args, **kwargs)


KernelWebsocketHandler.open = _open_without_delay
"""


class Jupyter(Server):
    """``python -m jupyter_server`` with ipykernel's ``python3`` kernel on this interpreter.

    With ``nodelay`` its channels WebSockets have TCP_NODELAY set (``NODELAY_CONFIG``): a
    fairer peer for round trips than the stock server, whose replies wait for delayed ACKs.
    """

    def __init__(self, nodelay: bool = False) -> None:
        super().__init__(f"{THEIRS} + TCP_NODELAY" if nodelay else THEIRS)
        self.nodelay = nodelay
        self.session = uuid.uuid4().hex

    def start(self) -> None:
        runtime = self.path / "runtime"
        env = {
            "JUPYTER_TOKEN": self.token,
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTER_CONFIG_DIR": str(self.path / "config"),
            "JUPYTER_DATA_DIR": str(self.path / "data"),
            "IPYTHONDIR": str(self.path / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        if self.nodelay:
            (self.path / "config").mkdir()
            (self.path / "config" / "jupyter_server_config.py").write_text(NODELAY_CONFIG)
        argv = [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1"]
        argv += ["--ServerApp.port=0", "--ServerApp.port_retries=0", "--no-browser"]
        argv += [f"--ServerApp.root_dir={self.path}"]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        self.spawn(argv, env)

        def server_info() -> str | None:
            try:
                info = json.loads((runtime / f"jpserver-{self.pid}.json").read_text())
            except (OSError, ValueError):
                return None
            return f"http://127.0.0.1:{info['port']}"

        self.url = self.wait_until(server_info, "server info file")
        self.wait_for_http("/api/status")

    def channels(self, kernel_id: str) -> ClientConnection:
        return connect(
            f"{self.ws_url}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            additional_headers=self.headers,
            proxy=None,
            open_timeout=TIMEOUT,
            max_size=None,
        )

    def message(self, msg_type: str, content: Message, channel: str = "shell") -> Message:
        """A Jupyter message (protocol 5.3) as the channels WebSocket takes it, in JSON."""
        return {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "session": self.session,
                "username": "bench",
                "msg_type": msg_type,
                "version": "5.3",
                "date": datetime.datetime.now(datetime.UTC).isoformat(),
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": channel,
            "buffers": [],
        }

    def execute(self, code: str) -> Message:
        return self.message(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )

    def start_engine(self, type_name: str = KERNEL) -> Start:
        """Start a kernel; ask for kernel_info and 2+2 at once; the times. The kernel is stopped."""
        began = time.perf_counter()
        answer = self.http.post(self.url + "/api/kernels", json={"name": type_name})
        posted = time.perf_counter() - began
        if answer.status_code != 201:
            raise BenchError(f"POST /api/kernels answered {answer.status_code}: {answer.text}")
        kernel_id = answer.json()["id"]
        try:
            with self.channels(kernel_id) as ws:
                info = self.message("kernel_info_request", {})
                execute = self.execute("2+2")
                ws.send(json.dumps(info))
                ws.send(json.dumps(execute))
                receive(ws, _reply_to(info, "kernel_info_reply"))
                answered = time.perf_counter() - began
                _check_execute_result(receive(ws, _reply_to(execute, "execute_result")))
                first_result = time.perf_counter() - began
        finally:
            self.stop_engine(kernel_id)
        return Start(posted, answered, first_result)

    def stop_engine(self, kernel_id: str) -> None:
        answer = self.http.delete(f"{self.url}/api/kernels/{kernel_id}")
        if answer.status_code != 204:
            raise BenchError(f"DELETE /api/kernels/{kernel_id} answered {answer.status_code}")

    def round_trips(self, scale: Scale) -> list[float]:
        """scale.calls executions of 2+2 on one warm kernel, after scale.warmup."""
        answer = self.http.post(self.url + "/api/kernels", json={"name": KERNEL})
        kernel_id = answer.json()["id"]
        try:
            with self.channels(kernel_id) as ws:
                info = self.message("kernel_info_request", {})
                ws.send(json.dumps(info))
                receive(ws, _reply_to(info, "kernel_info_reply"))
                times = [self.add(ws) for _ in range(scale.warmup + scale.calls)]
        finally:
            self.stop_engine(kernel_id)
        return times[scale.warmup :]

    def add(self, ws: ClientConnection) -> float:
        """2+2 until both its execute_result and its execute_reply arrived.

        The kernel's ``status: idle`` (which may come before the reply) is read too, untimed,
        so that nothing of this request is left to read when the next one is sent.
        """
        request = self.execute("2+2")
        text = json.dumps(request)
        msg_id = request["header"]["msg_id"]
        seen: dict[str, Message] = {}

        def has(*kinds: str) -> Callable[[Message], bool]:
            def note(message: Message) -> bool:
                kind = message["msg_type"]
                idle = kind != "status" or message["content"]["execution_state"] == "idle"
                if message["parent_header"].get("msg_id") == msg_id and idle:
                    seen[kind] = message
                return all(kind in seen for kind in kinds)

            return note

        began = time.perf_counter()
        ws.send(text)
        receive(ws, has("execute_result", "execute_reply"))
        elapsed = time.perf_counter() - began
        if "status" not in seen:
            receive(ws, has("status"))
        _check_execute_result(seen["execute_result"])
        reply = seen["execute_reply"]["content"]
        if reply["status"] != "ok":
            raise BenchError(f"ipykernel answered 2+2 with {reply!r}")
        return elapsed

    async def start_async(self, http: httpx.AsyncClient, began: float) -> tuple[str, float, float]:
        """One kernel of the crowd: its id, when its POST and its 2+2 were answered."""
        answer = await http.post(self.url + "/api/kernels", json={"name": KERNEL})
        posted = time.perf_counter() - began
        if answer.status_code != 201:
            raise BenchError(f"POST /api/kernels answered {answer.status_code}: {answer.text}")
        kernel_id = answer.json()["id"]
        url = f"{self.ws_url}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        async with connect_async(
            url, additional_headers=self.headers, proxy=None, open_timeout=CROWD_TIMEOUT
        ) as ws:
            execute = self.execute("2+2")
            await ws.send(json.dumps(execute))
            is_result = _reply_to(execute, "execute_result")
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), CROWD_TIMEOUT))
                if is_result(message):
                    _check_execute_result(message)
                    break
        return kernel_id, posted, time.perf_counter() - began

    async def stop_async(self, http: httpx.AsyncClient, kernel_id: str) -> None:
        await http.delete(f"{self.url}/api/kernels/{kernel_id}")


# -- messages --------------------------------------------------------------------------------


_UNREAD: weakref.WeakKeyDictionary[Any, deque[Message]] = weakref.WeakKeyDictionary()
"""Messages of a connection's last frame not read yet (a batch holds several)."""


def receive(ws: ClientConnection, wanted: Callable[[Message], bool]) -> Message:
    """Read messages until one is wanted; BenchError after TIMEOUT seconds. A frame may hold
    a batch of them (``?batches=1``, as the frontend and the browser's page ask)."""
    deadline = time.monotonic() + TIMEOUT
    unread = _UNREAD.setdefault(ws, deque())
    while True:
        if (message := _first_wanted(unread, wanted)) is not None:
            return message
        try:
            frame = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0)))
        except TimeoutError:
            raise BenchError(f"no awaited message in {TIMEOUT:g} s") from None
        unread.extend(batches.split(frame))


async def receive_async(
    ws: Any, wanted: Callable[[Message], bool], timeout: float = TIMEOUT
) -> Message:
    """receive, on an asyncio connection."""
    unread = _UNREAD.setdefault(ws, deque())
    while True:
        if (message := _first_wanted(unread, wanted)) is not None:
            return message
        unread.extend(batches.split(json.loads(await asyncio.wait_for(ws.recv(), timeout))))


def _first_wanted(unread: deque[Message], wanted: Callable[[Message], bool]) -> Message | None:
    """The first wanted message of those unread, the ones before it dropped; None if none is."""
    while unread:
        message = unread.popleft()
        if wanted(message):
            return message
    return None


def result_of(ws: ClientConnection, request_id: Any) -> Message:
    """Messages until the result of the evaluate request_id, its output added up from the
    stream messages before it (a result holds none: codenode.protocol.evaluation)."""
    evaluation = Evaluation(request_id)
    receive(ws, evaluation.add)
    return evaluation.result()


def _reply_to(request: Message, msg_type: str, **content: Any) -> Callable[[Message], bool]:
    """Whether a Jupyter message is a msg_type answering request, with that content."""
    msg_id = request["header"]["msg_id"]

    def wanted(message: Message) -> bool:
        return (
            message.get("msg_type") == msg_type
            and message["parent_header"].get("msg_id") == msg_id
            and all(message["content"].get(key) == value for key, value in content.items())
        )

    return wanted


def _check_result(message: Message) -> None:
    if message.get("out") != "4\n":
        raise BenchError(f"Codenode answered 2+2 with {message!r}")


def _check_execute_result(message: Message) -> None:
    if message["content"]["data"].get("text/plain") != "4":
        raise BenchError(f"ipykernel answered 2+2 with {message['content']!r}")


# -- processes -------------------------------------------------------------------------------


def _start_time(pid: int) -> int | None:
    """When pid started (clock ticks since boot), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[19])


def _children(parent: int) -> list[tuple[int, int]]:
    """(pid, start time) of every process whose parent is parent."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append((int(entry), int(fields[19])))
    return found


def _memory_of_all(pids: list[int]) -> tuple[float, float]:
    """Summed RSS and USS (MiB) of processes, those that vanished meanwhile left out."""
    rss = uss = 0.0
    for pid in pids:
        try:
            memory = memory_of(pid)
        except OSError:
            continue
        rss += memory.rss
        uss += memory.uss
    return rss, uss


# -- measuring -------------------------------------------------------------------------------


def measure_starts(ours: Codenode, theirs: Jupyter, scale: Scale) -> tuple[Measures, Measures]:
    """Cold and pooled Codenode starts and kernel starts, alternating; the pool full before each."""
    a, b = Measures(), Measures()
    for index in range(scale.starts):
        steps: list[Callable[[], None]] = [
            lambda: a.starts.append(ours.start_engine(COLD)),
            lambda: a.pooled.append(ours.start_engine(POOLED)),
            lambda: b.starts.append(theirs.start_engine(KERNEL)),
        ]
        if index % 2:
            steps.reverse()
        for step in steps:
            ours.wait_for_pool()
            step()
    return a, b


async def gather_crowd(server: Codenode | Jupyter, count: int) -> tuple[list[str], float, float]:
    """count engines asked for at once: their ids, when the last POST and last 2+2 answered."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(
        headers=server.headers, timeout=CROWD_TIMEOUT, limits=limits, trust_env=False
    ) as http:
        began = time.perf_counter()
        outcomes = await asyncio.gather(
            *(server.start_async(http, began) for _ in range(count)), return_exceptions=True
        )
        done = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
        ids = [engine_id for engine_id, _, _ in done]
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failed:
            await _stop_all(server, http, ids)
            raise BenchError(f"{server.name}: {len(failed)} of {count} failed: {failed[0]!r}")
        return ids, max(posted for _, posted, _ in done), max(last for _, _, last in done)


async def _stop_all(server: Codenode | Jupyter, http: httpx.AsyncClient, ids: list[str]) -> None:
    stops: list[Awaitable[None]] = [server.stop_async(http, engine_id) for engine_id in ids]
    await asyncio.gather(*stops)


def measure_crowd(server: Codenode | Jupyter, count: int) -> Crowd:
    """Start count engines at once, read the memory with them all running, stop them all."""
    before = set(server.children())
    ids, posted, answered = asyncio.run(gather_crowd(server, count))
    try:
        time.sleep(SETTLE_SECONDS)
        engines = [pid for pid in server.children() if pid not in before]
        server_memory = memory_of(server.pid)
        rss, uss = _memory_of_all(engines)
    finally:

        async def stop() -> None:
            async with httpx.AsyncClient(
                headers=server.headers, timeout=CROWD_TIMEOUT, trust_env=False
            ) as http:
                await _stop_all(server, http, ids)

        asyncio.run(stop())
    return Crowd(posted, answered, server_memory, rss, uss)


@contextlib.contextmanager
def running() -> Iterator[tuple[Codenode, Jupyter]]:
    """Both servers, started; both stopped on the way out, whatever happened."""
    ours, theirs = Codenode(), Jupyter()
    try:
        ours.start()
        theirs.start()
        yield ours, theirs
    finally:
        try:
            ours.close()
        finally:
            theirs.close()


def measure(scale: Scale) -> tuple[Measures, Measures]:
    """Every measure on both servers, in one run."""
    with running() as (ours, theirs):
        # One untimed start each: first-time costs (IPython's profile folder, cold caches).
        ours.start_engine(COLD)
        theirs.start_engine(KERNEL)
        time.sleep(SETTLE_SECONDS)
        idle = memory_of(ours.pid), memory_of(theirs.pid)
        a, b = measure_starts(ours, theirs, scale)
        a.idle, b.idle = idle
        a.round_trips = ours.round_trips(scale)
        b.round_trips = theirs.round_trips(scale)
        ours.wait_for_pool()
        a.crowd = measure_crowd(ours, scale.crowd)
        b.crowd = measure_crowd(theirs, scale.crowd)
    return a, b


# -- tables ----------------------------------------------------------------------------------


def absolute(row: list[str], value_ms: float, target_ms: float) -> list[str]:
    """row with its target column set to an absolute target in ms."""
    met = "met" if value_ms <= target_ms else "MISSED"
    return [*row[:4], f"≤ {target_ms:g} ms ({met})"]


def tables(ours: Measures, theirs: Measures, scale: Scale) -> list[Table]:
    """The three tables, Codenode's backend against Jupyter Server."""
    ms = 1000.0
    start = Table(f"Engine start over HTTP (ms, {scale.starts} starts each)", columns=COLUMNS)
    for label, pick, mine in (
        ("POST answered, cold", "posted", ours.starts),
        ("first answer, cold", "answered", ours.starts),
        ("first 2+2 result, cold", "first_result", ours.starts),
        ("POST answered, pooled", "posted", ours.pooled),
        ("first 2+2 result, pooled", "first_result", ours.pooled),
    ):
        a = [getattr(started, pick) for started in mine]
        b = [getattr(started, pick) for started in theirs.starts]
        row = compare(f"{label}, median", median(a) * ms, median(b) * ms)
        if label == "first 2+2 result, pooled":
            row = absolute(row, median(a) * ms, POOLED_TARGET_MS)
        start.rows.append(row)
        start.rows.append(compare(f"{label}, p90", percentile(a, 90) * ms, percentile(b, 90) * ms))
    start.notes.append(
        "From sending the POST (Codenode `POST /engines`, Jupyter Server `POST /api/kernels`). "
        "*POST answered*: the HTTP answer (Codenode: the engine said ready; Jupyter: the kernel "
        "process is launched). Then a WebSocket (Codenode's bus, Jupyter's channels). "
        "*first answer*: Codenode's `result` of `2+2`; Jupyter's kernel_info_reply. "
        "*first 2+2 result*: Codenode's `result`; Jupyter's execute_result (kernel_info_request "
        "and execute_request sent together on connecting). *cold*: a type without a pool; "
        f"*pooled*: a type with a pool of {POOL_SIZE}, full before each start (Jupyter has no "
        "pool: its column repeats its kernel starts). Each engine is deleted after; "
        "starts alternate between the servers."
    )

    trip = Table(
        f"Round trip of `2+2` over the WebSocket, warm engine (ms, {scale.calls} calls)",
        columns=COLUMNS,
    )
    a, b = ours.round_trips, theirs.round_trips
    trip.rows.append(compare("median", median(a) * ms, median(b) * ms, ROUND_TRIP_TARGET))
    trip.rows.append(compare("p99", percentile(a, 99) * ms, percentile(b, 99) * ms))
    trip.notes.append(
        f"After {scale.warmup} warm-up calls. Codenode: bus `evaluate` until its `result`; "
        "Jupyter: channels execute_request until both the execute_result and the execute_reply."
    )

    assert ours.crowd is not None and theirs.crowd is not None
    assert ours.idle is not None and theirs.idle is not None
    mine, yours = ours.crowd, theirs.crowd
    crowd = Table(f"{scale.crowd} engines started at once", columns=COLUMNS)
    crowd.rows.append(compare("all POSTs answered (s)", mine.posted, yours.posted))
    crowd.rows.append(compare("all 2+2 results in (s)", mine.answered, yours.answered))
    crowd.rows.append(compare("server RSS, idle (MiB)", ours.idle.rss, theirs.idle.rss))
    crowd.rows.append(
        compare(f"server RSS, {scale.crowd} engines (MiB)", mine.server.rss, yours.server.rss)
    )
    crowd.rows.append(
        compare(f"{scale.crowd} engines' RSS, summed (MiB)", mine.engines_rss, yours.engines_rss)
    )
    crowd.rows.append(
        compare(f"{scale.crowd} engines' USS, summed (MiB)", mine.engines_uss, yours.engines_uss)
    )
    crowd.notes.append(
        f"{scale.crowd} concurrent POSTs (httpx.AsyncClient, asyncio.gather), each followed by "
        "its WebSocket and `2+2`, Codenode's from the type without a pool. Memory read "
        f"{SETTLE_SECONDS:g} s after the last result, from /proc: the server process, and its "
        f"child processes summed (USS = private pages). Server RSS idle: after one start and "
        f"stop, Codenode's with {POOL_SIZE} pooled engines. Then all {scale.crowd} are deleted "
        f"at once; {number(mine.answered / scale.crowd * ms)} ms per Codenode engine."
    )
    return [start, trip, crowd]


def run(quick: bool = False) -> list[Table]:
    """Start both servers, measure, stop both; the tables."""
    scale = QUICK if quick else FULL
    compile_codenode()
    ours, theirs = measure(scale)
    return tables(ours, theirs, scale)
