"""One template process of one engine type declaration, and the engines forked from it.

The template is started exactly as an engine of its type would be (bin, args, env, working
directory), with ``--template-fd N`` in place of ``--fd N``: it imports the engine and the
type's ``preload`` modules and waits. It keeps a spare child forked ahead and passes the backend a
line to it; a new engine is that spare, given its socket and stderr over SCM_RIGHTS (see
codenode/engine/template.py for the other side, docs/templates.md for the whole story).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codenode.backend import passing, sandboxes
from codenode.backend.cgroups import members_file
from codenode.backend.enginetype import EngineType
from codenode.backend.errors import EngineStartError
from codenode.backend.forked import ForkedProcess
from codenode.backend.launch import Launched, die_with_backend, engine_environment, rlimits
from codenode.backend.sandboxes import Sandbox, Sandboxes

log = logging.getLogger("codenode.backend")
FORK_SECONDS = 5.0  # for the template to answer a fork request
STDERR_LINES = 20
CLOSE_SECONDS = 2.0


class TemplateError(Exception):
    """The template could not fork an engine: the engine is started by exec instead."""


class Template:
    """One template process for one declaration of an engine type."""

    def __init__(self, engine_type: EngineType, sandboxes: Sandboxes | None = None) -> None:
        self.type = engine_type
        # A sandboxed type's template runs in the type's view, and its spares in sandboxes.
        self.sandboxes = sandboxes if engine_type.sandbox else None
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
        self.dropped_spares: list[int] = []

    async def start(self) -> None:
        """Start the process; EngineStartError if it does not say ready in time."""
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self.type.bin, *self.type.args, "--template-fd", str(theirs.fileno())]
        if self.type.preload:
            argv += ["--preload", ",".join(self.type.preload)]
        env, cwd = engine_environment(self.type), self.type.working_directory
        if self.sandboxes is not None:
            self.sandboxes.prepare()
            spec = {**self.sandboxes.view(self.type), "mode": "template"}
            argv = [*sandboxes.HELPER_PYTHON, *argv]
            env[sandboxes.ENVIRONMENT] = json.dumps(spec)
            cwd = "/"
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
                env=env,
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
        self,
        engine_type: EngineType,
        cgroup_procs: Sequence[Path],
        memory_in_cgroup: bool,
        sandbox: Sandbox | None = None,
    ) -> Launched:
        """A new engine forked from this template; it still has to say ready.

        Sent straight to the template's spare when one waits (one process hop less), else to
        the template, which forks a child for it.
        """
        if self.state != "ready" or self._control is None:
            raise TemplateError(f"the template is {self.state}")
        self.forks += 1
        request_id = self.forks
        if (sandbox is None) != (self.sandboxes is None):
            raise TemplateError("the engine's sandbox is not its template's")
        request: dict[str, Any] = {
            "op": "fork",
            "id": request_id,
            "rlimits": rlimits(engine_type.limits, memory_in_cgroup),
            "cgroups": len(cgroup_procs),
        }
        if sandbox is not None:
            workspace = sandbox.workspace
            request["workspace"] = workspace.key
            if sandboxes.sandbox_as_root():
                request.update(uid=workspace.uid, gid=workspace.gid)
        mine, theirs = socket.socketpair()
        stderr_read, stderr_write = os.pipe2(os.O_CLOEXEC)
        # The child joins its cgroups through these: a sandbox shows it no /sys/fs/cgroup.
        members = [os.open(members_file(path), os.O_WRONLY | os.O_CLOEXEC) for path in cgroup_procs]
        fds = [theirs.fileno(), stderr_write, *members]
        try:
            pid = self._to_spare(request, fds)
            if pid is None:
                answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
                self._pending[request_id] = answered
                await passing.send(self._control, request, fds)
                pid = await asyncio.wait_for(answered, FORK_SECONDS)
            self._ask_for_spare()
            stderr = await passing.stream(stderr_read)
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
            for fd in (stderr_write, *members):
                os.close(fd)
        return Launched(ForkedProcess(pid, stderr, self._reports[pid]), mine, forked=True)

    def _to_spare(self, request: dict[str, Any], fds: list[int]) -> int | None:
        """Hand the request to the waiting spare; its pid, or None if there is none (or it died)."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        pid, line = spare
        try:
            line.sendmsg([json.dumps(request).encode()], passing.rights(fds))
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
                    65536, socket.CMSG_SPACE(passing.FD_BYTES)
                )
            except BlockingIOError:
                await passing.readable(control)
                continue
            except OSError:
                return
            if not packet:  # the template is gone: so should its spare be
                self._drop_spare()
                return
            fds = passing.fds(ancdata)
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

    def _drop_spare(self) -> None:
        """Close the line to the spare, which then exits. A sandboxed spare leads a session of
        its own (it is the init of its engine's namespace), so the backend's stray reaper
        would leave it alone: its pid is kept in dropped_spares for the reaper to take."""
        if self._spare is not None:
            self.dropped_spares.append(self._spare[0])
            self._spare[1].close()
            self._spare = None

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
        self._drop_spare()
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
