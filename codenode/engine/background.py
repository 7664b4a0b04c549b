"""The engine's output threads (the pump of its captured fds, the stream sender).

Started with ``_thread`` rather than ``threading.Thread``: ``Thread.start`` waits until the new
thread has run, a scheduling round trip per thread (~0.2 ms each in a forked engine, before it
can say ready). These threads are never joined and die with the process; user
code does not see them in ``threading.enumerate()``. They are born with SIGINT blocked, so that
the kernel always gives an interrupt to the main thread, which runs user code and handles it at
once (a helper thread taking it would leave it pending until the main thread next wakes, to
land in whatever evaluation comes next).
"""

from __future__ import annotations

import _thread
import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


class SigintBlocked:
    """Threads started inside ``with SigintBlocked():`` are born with SIGINT blocked (the
    calling thread's mask is put back on leaving)."""

    def __enter__(self) -> None:
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def __exit__(self, *exc_info: object) -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)


def start(target: Callable[..., Any], *args: Any) -> None:
    """Run target(*args) in a new thread, without waiting for it to begin."""
    with SigintBlocked():  # the mask is inherited by the thread
        _thread.start_new_thread(target, args)
