"""How an engine process is launched: clean environment, own session, OS limits, socketpair.

What an engine is comes from its EngineType (enginetype.py); this module turns that into a
running process whose end of the socket is the only way in.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from codenode.backend import sandboxes
from codenode.backend.cgroups import members_file
from codenode.backend.enginetype import EngineType, Limits
from codenode.backend.sandboxes import Sandbox
from codenode.protocol.engine import CLOSED_ITS_DESCRIPTORS

# An engine sees only these of the backend's environment, plus its type's env: the backend's
# token and anything else secret stay out.
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "TZ")
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class EngineProcess(Protocol):
    """What the backend uses of an engine's process, started (asyncio's) or forked."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def stderr(self) -> asyncio.StreamReader | None: ...
    async def wait(self) -> int: ...


@dataclass
class Launched:
    """A just-started engine process and the backend's end of its socket."""

    process: EngineProcess
    sock: socket.socket
    forked: bool = False  # from a template (templates.py), rather than started by exec


def engine_environment(engine_type: EngineType) -> dict[str, str]:
    """The whole environment of an engine of this type."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = "/workspace" if engine_type.sandbox else os.path.expanduser("~")
    env["PYTHONUNBUFFERED"] = "1"
    if engine_type.limits.output_chars is not None:
        env["CODENODE_OUTPUT_LIMIT"] = str(engine_type.limits.output_chars)
    env.update(engine_type.env)
    return env


def rlimits(limits: Limits, memory_in_cgroup: bool = False) -> dict[str, tuple[int, int]]:
    """The OS limits of an engine, (soft, hard) by the name of the resource module's constant.

    With a memory cgroup, memory is limited by what the engine really uses; without one, by
    its address space (RLIMIT_AS), a cruder measure.
    """
    chosen: dict[str, tuple[int, int]] = {}
    if limits.memory_mb is not None and not memory_in_cgroup:
        chosen["RLIMIT_AS"] = (limits.memory_mb * 1024 * 1024,) * 2
    if limits.cpu_seconds is not None:
        # SIGXCPU at the soft limit says why; at a hard limit as high, the kernel would send
        # SIGKILL instead, which reads like running out of memory.
        chosen["RLIMIT_CPU"] = (limits.cpu_seconds, limits.cpu_seconds + 1)
    if limits.processes is not None:
        chosen["RLIMIT_NPROC"] = (limits.processes,) * 2
    if limits.open_files is not None:
        chosen["RLIMIT_NOFILE"] = (limits.open_files,) * 2
    return chosen


def die_with_backend() -> None:
    """In a child between fork and exec: if the backend dies, even by SIGKILL, so does it."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def limiter(limits: Limits, memory_in_cgroup: bool = False) -> Callable[[], None]:
    """What an engine runs between fork and exec: death with the backend, then its rlimits."""
    pairs = [
        (getattr(resource, name), value)
        for name, value in rlimits(limits, memory_in_cgroup).items()
    ]

    def apply() -> None:
        die_with_backend()
        for which, value in pairs:
            resource.setrlimit(which, value)

    return apply


async def launch(
    engine_type: EngineType,
    cgroup_procs: Sequence[Path] = (),
    memory_in_cgroup: bool = False,
    sandbox: Sandbox | None = None,
) -> Launched:
    """Start an engine process of this type; it still has to say ready.

    In a sandbox, the process started is the sandbox's launcher (codenode/engine/sandbox.py),
    which joins the cgroups, makes the sandbox and runs the engine in it as its only child.
    """
    parent, child = socket.socketpair()
    argv = [engine_type.bin, *engine_type.args, "--fd", str(child.fileno())]
    env = engine_environment(engine_type)
    cwd = engine_type.working_directory
    if sandbox is not None:
        argv = [*sandboxes.HELPER_PYTHON, *argv]
        members = [members_file(path) for path in cgroup_procs]
        env[sandboxes.ENVIRONMENT] = sandboxes.engine_environment(sandbox, "engine", members)
        cwd, cgroup_procs = "/", ()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            pass_fds=[child.fileno()],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=limiter(engine_type.limits, memory_in_cgroup),
        )
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
    if cgroup_procs:
        # Joining a cgroup takes the kernel ~10 ms: done off the event loop, from the parent,
        # before the engine is handed out (it runs no user code until then).
        await asyncio.to_thread(join_cgroups, process.pid, cgroup_procs)
    return Launched(process, parent)


def join_cgroups(pid: int, cgroup_procs: Sequence[Path]) -> None:
    """Move process pid into each cgroup (its children will be born there)."""
    for path in cgroup_procs:
        try:
            path.write_text(str(pid))
        except OSError:  # the process is already gone: its exit is reported elsewhere
            return


def signal_name(signum: int) -> str:
    """SIGKILL, SIGSEGV, ...: the name of a signal number."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def explain_exit(
    returncode: int,
    limits: Limits,
    stopped: bool,
    oom_killed: bool = False,
    oom_known: bool = False,
) -> str:
    """Why an engine process ended, in words a user can act on. oom_known: a memory cgroup
    watched the engine, so oom_killed is the truth and a SIGKILL without it came from outside."""
    if stopped:
        return "stopped"
    if oom_killed and limits.memory_mb is not None:
        return f"killed: memory limit of {limits.memory_mb} MB exceeded"
    if returncode == CLOSED_ITS_DESCRIPTORS:
        return (
            f"exited with code {returncode}: the code closed the engine's own file descriptors"
            " (os.close, os.closerange), so it could no longer reach the backend"
        )
    if returncode >= 0:
        return f"exited with code {returncode}"
    signum = -returncode
    name = signal_name(signum)
    if signum == signal.SIGXCPU and limits.cpu_seconds is not None:
        return f"killed: CPU time limit of {limits.cpu_seconds} s exceeded"
    if signum == signal.SIGKILL and oom_known:
        return f"killed by {name}, not for its memory: by another process (kill -9, say)"
    if signum == signal.SIGKILL and limits.memory_mb is not None:
        return f"killed by {name} (out of memory? the memory limit is {limits.memory_mb} MB)"
    return f"killed by {name}"
