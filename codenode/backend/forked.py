"""Engine processes the backend did not start: followed through pidfds, reaped as subreaper.

A forked engine is its template's child, not the backend's. The backend follows it through a
pidfd (readable the moment it dies) and takes its exit status from the template's report; if the
template died first, the engine is the backend's child now (the backend is a subreaper) and its
status is read with waitid on the pidfd. See docs/templates.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os

from codenode.backend.passing import settle

log = logging.getLogger("codenode.backend")
PR_SET_CHILD_SUBREAPER = 36
STATUS_SECONDS = 2.0  # after an engine's death, for its exit status to arrive
UNKNOWN_STATUS = 255
_libc = ctypes.CDLL(None, use_errno=True)


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


def reap_strays(dropped: list[int] | None = None) -> int:
    """Reap the zombie children this backend inherited as subreaper; how many were reaped.

    Orphans that were members of another session (a dead template's spare, what an engine
    started) come to the backend when their parent dies. Session leaders are left alone:
    those are engines and templates, whose owners read their statuses; except the dropped
    spares of templates (sandboxed spares lead sessions), taken off that list once reaped.
    """
    own_pid, own_session, reaped = os.getpid(), os.getsid(0), 0
    for pid in list(dropped or ()):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                reaped += 1
                dropped.remove(pid)  # type: ignore[union-attr]
        except ChildProcessError:  # not ours (yet: its template still lives), or gone
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 0)
                continue
            dropped.remove(pid)  # type: ignore[union-attr]
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
            loop.add_reader(self._pidfd, settle, gone)
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
