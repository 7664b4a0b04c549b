"""The engine's own background threads (output pump, stream sender, request receiver, helper).

Started with ``_thread`` rather than ``threading.Thread``: ``Thread.start`` waits until the new
thread has run, a scheduling round trip per thread (~0.2 ms each in a forked engine, four of
them before it can say ready). These threads are never joined and die with the process; user
code does not see them in ``threading.enumerate()``.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


def start(target: Callable[..., Any], *args: Any) -> None:
    """Run target(*args) in a new thread, without waiting for it to begin."""
    _thread.start_new_thread(target, args)
