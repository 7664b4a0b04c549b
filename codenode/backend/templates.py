"""Warm templates: one process per templated engine type, from which its engines are forked.

A template is started exactly as an engine of its type would be (bin, args, env, working
directory), with ``--template-fd N`` in place of ``--fd N``: it imports the engine and the
type's ``preload`` modules and waits. A new engine is a fork of it, on a socket the backend
hands over with SCM_RIGHTS (see codenode/engine/template.py for the template's side).

The backend is not a forked engine's parent, so it follows the engine through a pidfd (death)
and the template's reports (exit status). It is the engines' subreaper: if their template
dies they become the backend's children, and their statuses are read with waitid on the pidfd.
A template that dies is started again; one whose declaration changed is replaced, and the
engines it forked are left running. See docs/templates.md.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import socket
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codenode.backend.enginetype import EngineType
from codenode.backend.errors import EngineStartError
from codenode.backend.launch import (
    Launched,
    die_with_backend,
    engine_environment,
    launch,
    rlimits,
)

log = logging.getLogger("codenode.backend")
PR_SET_CHILD_SUBREAPER = 36
FORK_SECONDS = 5.0  # for the template to answer a fork request
STATUS_SECONDS = 2.0  # after an engine's death, for its exit status to arrive
UNKNOWN_STATUS = 255
RESTART_DELAYS = (0.2, 1.0, 2.0, 5.0, 10.0, 30.0)  # after a template's death or failed start
STDERR_LINES = 20
CLOSE_SECONDS = 2.0
STRAY_SECONDS = 5.0  # between looks for orphaned zombies
NO_PIDFDS = "this kernel has no pidfds (Linux >= 5.3): engines are started by exec"
_libc = ctypes.CDLL(None, use_errno=True)


class TemplateError(Exception):
    """The template could not fork an engine: the engine is started by exec instead."""


def pidfds_work() -> bool:
    """Whether this kernel has pidfds (Linux >= 5.3), which following forked engines needs."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def become_subreaper() -> None:
    """Engines orphaned by their template's death become this process's children."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log.warning("cannot become the engines' subreaper: exit statuses may be lost")


def reap_strays() -> int:
    """Reap the zombie children this backend inherited as subreaper; how many were reaped.

    Orphans that were members of another session (a dead template's spare, what an engine
    started) come to the backend when their parent dies. Session leaders are left alone:
    those are engines and templates, whose owners read their statuses.
    """
    own_pid, own_session, reaped = os.getpid(), os.getsid(0), 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                state, parent, _group, session = stat.read().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue  # gone meanwhile
        pid = int(name)
        if state == "Z" and int(parent) == own_pid and int(session) not in (own_session, pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
                reaped += 1
    return reaped


class ForkedProcess:
    """A forked engine's process, with what the Engine uses of asyncio.subprocess.Process."""

    def __init__(self, pid: int, stderr: asyncio.StreamReader, reported: asyncio.Future[int]):
        self.pid = pid
        self.stderr = stderr
        self.returncode: int | None = None
        self._reported = reported
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # dead and reaped already: the template's report tells
            self._pidfd = None
        self._exited = asyncio.ensure_future(self._watch())

    async def wait(self) -> int:
        """The exit status once the process is gone (negative: the signal that killed it)."""
        return await asyncio.shield(self._exited)

    async def _watch(self) -> int:
        loop = asyncio.get_running_loop()
        if self._pidfd is not None:
            gone: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self._pidfd, _settle, gone)
            try:
                await gone
            finally:
                loop.remove_reader(self._pidfd)
        deadline = loop.time() + STATUS_SECONDS
        code: int | None = None
        while code is None:
            if self._reported.done():
                code = self._reported.result()
            elif self._pidfd is not None and (code := _reap(self._pidfd)) is not None:
                break  # its template died: it was ours to reap
            elif loop.time() > deadline:
                log.warning("exit status of engine process %s unknown", self.pid)
                code = UNKNOWN_STATUS
            else:
                await asyncio.wait([self._reported], timeout=0.02)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self.returncode = code
        return code


def _reap(pidfd: int) -> int | None:
    """The status of a child of ours that has exited, or None (not ours, or not yet)."""
    try:
        info = os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)
    except ChildProcessError:
        return None
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


class Template:
    """One template process for one declaration of an engine type."""

    def __init__(self, engine_type: EngineType) -> None:
        self.type = engine_type
        self.state = "starting"  # then "ready", or "dead"
        self.pid: int | None = None
        self.ready: dict[str, Any] = {}
        self.forks = 0
        self.died = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._reports: dict[int, asyncio.Future[int]] = {}
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._tasks: list[asyncio.Task[None]] = []
        self._reader: asyncio.Task[None] | None = None
        self._spare: tuple[int, socket.socket] | None = None  # its pid, and the line to it
        self._spare_asked = False
        self._closing = False

    async def start(self) -> None:
        """Start the process; EngineStartError if it does not say ready in time."""
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self.type.bin, *self.type.args, "--template-fd", str(theirs.fileno())]
        if self.type.preload:
            argv += ["--preload", ",".join(self.type.preload)]
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.type.working_directory,
                env=engine_environment(self.type),
                start_new_session=True,
                preexec_fn=die_with_backend,
            )
        except BaseException:
            control.close()
            raise
        finally:
            theirs.close()
        control.setblocking(False)
        self._control = control
        self.pid = self._process.pid
        self._tasks.append(asyncio.create_task(self._read_stderr()))
        loop = asyncio.get_running_loop()
        try:
            packet = await asyncio.wait_for(loop.sock_recv(control, 65536), self.type.start_timeout)
            self.ready = json.loads(packet) if packet else {}
        except (TimeoutError, OSError, ValueError) as exc:
            self.ready = {"error": str(exc)}
        if self.ready.get("type") != "ready":
            await self._kill()
            await asyncio.sleep(0.05)  # the stderr reader may still hold the last lines
            raise EngineStartError(
                self.type.name, "its template did not say ready", self.stderr_tail()
            )
        self.state = "ready"
        self._reader = asyncio.create_task(self._read_control())
        self._ask_for_spare()
        self._tasks.append(asyncio.create_task(self._watch_exit()))
        if self.ready.get("failed"):
            log.warning("template %s: preloads failed: %s", self.type.name, self.ready["failed"])
        log.info("template started: %s pid %s", self.type.name, self.pid)

    @property
    def usable(self) -> bool:
        """Ready, and single-threaded: forking a process with other threads is not safe."""
        return self.state == "ready" and self.ready.get("threads", 1) == 1

    async def fork(
        self, engine_type: EngineType, cgroup_procs: Sequence[Path], memory_in_cgroup: bool
    ) -> Launched:
        """A new engine forked from this template; it still has to say ready.

        Sent straight to the template's spare when one waits (one process hop less), else to
        the template, which forks a child for it.
        """
        if self.state != "ready" or self._control is None:
            raise TemplateError(f"the template is {self.state}")
        self.forks += 1
        request_id = self.forks
        request = {
            "op": "fork",
            "id": request_id,
            "rlimits": rlimits(engine_type.limits, memory_in_cgroup),
            "cgroups": [str(path) for path in cgroup_procs],
        }
        mine, theirs = socket.socketpair()
        stderr_read, stderr_write = os.pipe2(os.O_CLOEXEC)
        try:
            pid = self._to_spare(request, [theirs.fileno(), stderr_write])
            if pid is None:
                answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
                self._pending[request_id] = answered
                await _send(self._control, request, [theirs.fileno(), stderr_write])
                pid = await asyncio.wait_for(answered, FORK_SECONDS)
            self._ask_for_spare()
            stderr = await _stream(stderr_read)
        except BaseException as exc:
            mine.close()
            with contextlib.suppress(OSError):
                os.close(stderr_read)
            if isinstance(exc, (OSError, TimeoutError)):
                raise TemplateError(f"the template did not fork: {exc!r}") from exc
            raise
        finally:
            self._pending.pop(request_id, None)
            theirs.close()
            os.close(stderr_write)
        return Launched(ForkedProcess(pid, stderr, self._reports[pid]), mine, forked=True)

    def _to_spare(self, request: dict[str, Any], fds: list[int]) -> int | None:
        """Hand the request to the waiting spare; its pid, or None if there is none (or it died)."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        pid, line = spare
        try:
            line.sendmsg([json.dumps(request).encode()], _rights(fds))
        except OSError:  # it died while waiting
            return None
        finally:
            line.close()
        return pid

    def _ask_for_spare(self) -> None:
        """Have the template fork the next spare, unless one is waiting or on its way."""
        if self.usable and self._spare is None and not self._spare_asked and self._control:
            try:
                self._control.send(json.dumps({"op": "spare"}).encode())
                self._spare_asked = True
            except OSError:  # full, or the template is gone: the next fork asks again
                pass

    async def _read_control(self) -> None:
        assert self._control is not None
        control = self._control
        while True:
            try:
                packet, ancdata, _flags, _address = control.recvmsg(
                    65536, socket.CMSG_SPACE(array.array("i").itemsize)
                )
            except BlockingIOError:
                await _readable(control)
                continue
            except OSError:
                return
            if not packet:  # the template is gone: so should its spare be
                if self._spare is not None:
                    self._spare[1].close()
                    self._spare = None
                return
            fds = _fds(ancdata)
            try:
                message = json.loads(packet)
            except ValueError:
                log.warning("template %s sent a bad packet", self.type.name)
                message = {}
            self._take(message, fds)

    def _take(self, message: dict[str, Any], fds: list[int]) -> None:
        kind = message.get("type")
        if kind == "spare" and len(fds) == 1 and self._spare is None:
            pid = int(message["pid"])
            self._reports[pid] = asyncio.get_running_loop().create_future()
            self._spare = (pid, socket.socket(fileno=fds.pop()))
            self._spare_asked = False
        elif kind == "forked":
            pid = message["pid"]
            self._reports[pid] = asyncio.get_running_loop().create_future()
            answered = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if answered is not None and not answered.done():
                answered.set_result(pid)
        elif kind == "exited":
            reported = self._reports.pop(message.get("pid"), None)  # type: ignore[arg-type]
            if reported is not None and not reported.done():
                code = message.get("exit_code")
                reported.set_result(code if code is not None else -int(message.get("signal", 9)))
        elif kind == "error":
            answered = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if answered is not None and not answered.done():
                answered.set_exception(TemplateError(str(message.get("message"))))
            else:
                self._spare_asked = False
                log.warning("template %s: %s", self.type.name, message.get("message"))
        for fd in fds:  # anything not taken above
            os.close(fd)

    async def _watch_exit(self) -> None:
        assert self._process is not None
        returncode = await self._process.wait()
        self.state = "dead"
        if self._reader is not None:
            self._reader.cancel()
        for answered in self._pending.values():
            if not answered.done():
                answered.set_exception(TemplateError("the template died"))
        if not self._closing:
            how = f"code {returncode}" if returncode >= 0 else f"signal {-returncode}"
            log.warning("template %s died (%s); its engines run on", self.type.name, how)
        self._close_control()
        self.died.set()

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for line in self._process.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))

    def stderr_tail(self) -> str:
        """The last lines the template wrote to its stderr."""
        return "".join(self._stderr)

    def _close_control(self) -> None:
        if self._spare is not None:  # its line closes: the spare exits
            self._spare[1].close()
            self._spare = None
        if self._control is not None:
            self._control.close()
            self._control = None

    async def _kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        self._close_control()

    async def close(self) -> None:
        """End the template (its engines run on): close its control socket, wait, kill."""
        self._closing = True
        if self._reader is not None:  # before the socket closes under the event loop
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._close_control()
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), CLOSE_SECONDS)
            except TimeoutError:
                await self._kill()
        for task in self._tasks:
            task.cancel()
        self.state = "dead"

    def describe(self) -> dict[str, Any]:
        """The template as the engine-type listing shows it."""
        info: dict[str, Any] = {"state": self.state, "pid": self.pid, "forks": self.forks}
        if self.ready.get("type") == "ready":
            info["preloaded"] = self.ready.get("preloaded", [])
            info["failed"] = self.ready.get("failed", {})
        return info


def _rights(fds: list[int]) -> list[tuple[int, int, bytes]]:
    return [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]


def _fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    """The descriptors passed in a message's ancillary data."""
    fds = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return list(fds)


async def _send(control: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    data = json.dumps(request).encode()
    while True:
        try:
            control.sendmsg([data], _rights(fds))
            return
        except BlockingIOError:  # the template is behind: wait until it reads
            await _writable(control)


async def _readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()
    loop.add_reader(sock, _settle, readable)
    try:
        await readable
    finally:
        loop.remove_reader(sock)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _writable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    writable: asyncio.Future[None] = loop.create_future()
    loop.add_writer(sock, _settle, writable)
    try:
        await writable
    finally:
        loop.remove_writer(sock)


async def _stream(fd: int) -> asyncio.StreamReader:
    """An asyncio reader on the read end of a pipe."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader


class Templates:
    """The backend's templates, one per templated engine type, kept running."""

    def __init__(self) -> None:
        self._current: dict[str, Template] = {}
        self._keepers: dict[str, tuple[EngineType, asyncio.Task[None]]] = {}
        self._problems: dict[str, str] = {}  # type name -> why its template is not running
        self._started: dict[str, asyncio.Event] = {}  # type name -> set once it has started
        self._reaper: asyncio.Task[None] | None = None

    def sync(self, engine_types: Sequence[EngineType]) -> None:
        """Keep a template for exactly these declarations; replace changed ones, end the rest."""
        wanted = {t.name: t for t in engine_types if t.templated}
        for name in [name for name in self._problems if name not in wanted]:
            del self._problems[name]  # the type is gone, or no longer templated
        if wanted and not pidfds_work():
            for name in wanted:
                self._problems[name] = NO_PIDFDS
            return
        if wanted and self._reaper is None:
            become_subreaper()
            self._reaper = asyncio.create_task(self._reap_strays())
        for name, (engine_type, task) in list(self._keepers.items()):
            if wanted.get(name) != engine_type:
                task.cancel()
                del self._keepers[name]
        for name, engine_type in wanted.items():
            if name not in self._keepers:
                self._started[name] = asyncio.Event()
                task = asyncio.create_task(self._keep(engine_type), name=f"template {name}")
                self._keepers[name] = (engine_type, task)

    async def _reap_strays(self) -> None:
        while True:
            await asyncio.sleep(STRAY_SECONDS)
            try:
                await asyncio.to_thread(reap_strays)
            except Exception:
                log.exception("reaping orphaned processes failed")

    async def _keep(self, engine_type: EngineType) -> None:
        """Run a template for the declaration until cancelled, starting it again if it dies."""
        failures = 0
        template: Template | None = None
        try:
            while True:
                template = Template(engine_type)
                try:
                    await template.start()
                except (EngineStartError, OSError) as exc:
                    if self._problems.get(engine_type.name) != str(exc):  # said once
                        log.warning("template %s: %s", engine_type.name, exc)
                    self._problems[engine_type.name] = str(exc)
                    self._started[engine_type.name].set()  # no use waiting for it
                else:
                    if template.usable:
                        self._problems.pop(engine_type.name, None)
                    else:
                        threads = template.ready.get("threads")
                        self._problems[engine_type.name] = (
                            f"the template runs {threads} threads after preloading, so it"
                            " cannot fork safely: engines are started by exec"
                        )
                        log.warning(
                            "template %s: %s", engine_type.name, self._problems[engine_type.name]
                        )
                    old = self._current.get(engine_type.name)
                    self._current[engine_type.name] = template
                    self._started[engine_type.name].set()
                    if old is not None and old is not template:
                        await old.close()
                    failures = 0
                    await template.died.wait()
                delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
                failures += 1
                await asyncio.sleep(delay)
        finally:
            if template is not None:
                if self._current.get(engine_type.name) is template:
                    del self._current[engine_type.name]
                # Closing waits for the process: shielded, so that cancelling the keeper
                # still ends its template.
                await asyncio.shield(template.close())

    async def launch(
        self,
        engine_type: EngineType,
        cgroup_procs: Sequence[Path] = (),
        memory_in_cgroup: bool = False,
    ) -> Launched:
        """An engine of the type: forked from its template if it has one, else started.

        While a template is still starting (the backend just started, the plug-in changed),
        waiting for it is worth it: it takes no longer than the engine's own start would.
        """
        started = self._started.get(engine_type.name)
        if engine_type.templated and started is not None and not started.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(started.wait(), engine_type.start_timeout)
        template = self._current.get(engine_type.name)
        if template is not None and template.type == engine_type and template.usable:
            try:
                return await template.fork(engine_type, cgroup_procs, memory_in_cgroup)
            except TemplateError as exc:
                self._problems[engine_type.name] = f"{exc}: the engine was started by exec"
                log.warning("template %s: %s", engine_type.name, self._problems[engine_type.name])
        return await launch(engine_type, cgroup_procs, memory_in_cgroup)

    def describe(self, name: str) -> dict[str, Any] | None:
        """The template of a type as listed, or None for a type that has none."""
        if name not in self._keepers:
            problem = self._problems.get(name)
            return {"state": "none", "problem": problem} if problem == NO_PIDFDS else None
        template = self._current.get(name)
        info = template.describe() if template is not None else {"state": "starting"}
        if name in self._problems:
            info["problem"] = self._problems[name]
        return info

    async def close(self) -> None:
        """End every template (engines are stopped by their own owners)."""
        tasks = [task for _, task in self._keepers.values()]
        if self._reaper is not None:
            tasks.append(self._reaper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._keepers.clear()
