"""OS-level output capture: fd 1 and fd 2 of the engine process are pipes the engine reads.

So ``print``, ``os.system('echo hi')`` and C extensions writing to their stdout all reach the
cell. Python's sys.stdout and sys.stderr are line-buffered onto the pipes, which keeps Python
prints in order with what subprocesses write. One thread pumps both pipes into the Transcript
of the evaluation that is running, or into an idle one between evaluations.
"""

from __future__ import annotations

import codecs
import os
import select
import sys
import threading

from codenode.engine import background

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict

    from codenode.engine.output import Transcript

READ_BYTES = 65536


class FdCapture:
    """Owns fd 1 and 2 for the life of the process; see the module docstring."""

    def __init__(self, idle: Transcript) -> None:
        self.idle = idle
        self._target = idle
        self._lock = threading.Lock()
        # The engine's own diagnostics keep going to the real stderr, which the backend reads.
        self.original_stderr = os.dup(2)
        self._names: Dict[int, str] = {}
        self._decoders: Dict[int, Any] = {}
        for fd, name in ((1, "stdout"), (2, "stderr")):
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            os.set_blocking(read_end, False)
            self._names[read_end] = name
            self._decoders[read_end] = codecs.getincrementaldecoder("utf-8")("replace")
        # Line-buffered, as on a terminal: a print reaches the pipe before a subprocess writes.
        # They live as long as the process, hence no context manager.
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        background.start(self._pump)

    def start(self, transcript: Transcript) -> None:
        """Send output to transcript from now on (everything written before goes to idle)."""
        self.flush()
        with self._lock:
            self._target = transcript

    def flush(self) -> None:
        """Deliver everything written so far to the current transcript."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # user code closed or replaced it
                pass
        with self._lock:
            for fd in self._names:
                while self._read(fd):
                    pass

    def stop(self) -> None:
        """Deliver what is left to the evaluation's transcript, then go back to idle."""
        self.flush()
        with self._lock:
            self._target = self.idle

    def _pump(self) -> None:
        fds = list(self._names)
        while True:
            ready, _, _ = select.select(fds, [], [])
            with self._lock:
                for fd in ready:
                    self._read(fd)

    def _read(self, fd: int) -> bool:
        """Read one chunk from fd into the target (caller holds the lock); False when empty."""
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return False
        if not data:
            return False
        text = self._decoders[fd].decode(data)
        self._target.write(self._names[fd], text)
        return True
