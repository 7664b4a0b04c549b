"""Streams a running evaluation's output to the parent, coalesced into few frames.

A cell that prints a line at a time would otherwise cost a frame per line. Text that comes to
a quiet stream is sent ``FIRST_DELAY`` later, so that a quick cell's output leaves with its
result, in one write (``send_with``: one wake-up of the parent, not two); text that comes
while the stream is busy is gathered and sent when the interval is up: at most ~50 frames a
second per stream, and never a character lost or reordered.
"""

from __future__ import annotations

import threading
import time

from codenode.engine import background

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Union

    Message = Dict[str, Any]
    RequestId = Optional[Union[str, int]]
    SendAll = Callable[[List[Message]], None]

INTERVAL = 0.02  # seconds between two frames of one stream
FIRST_DELAY = 0.002  # seconds from text on a quiet stream to its frame


class Coalescer:
    """Gathers stream text for the request under way and sends it as ``stream`` messages."""

    def __init__(
        self, send_all: SendAll, interval: float = INTERVAL, first_delay: float = FIRST_DELAY
    ) -> None:
        self._send_all = send_all  # sends messages in one write, in order
        self._interval = interval
        self._first_delay = first_delay
        self._request: RequestId = None
        self._pending: Dict[str, List[str]] = {"stdout": [], "stderr": []}
        self._last_sent = 0.0
        self._due = False
        self._due_at = 0.0
        # Sending happens under this lock, so frames leave in the order their text arrived.
        self._lock = threading.Condition()
        background.start(self._sender)

    def begin(self, request: RequestId) -> None:
        """Output from now on belongs to request (None: output between evaluations)."""
        self.flush()
        with self._lock:
            self._request = request

    def add(self, kind: str, value: Any) -> None:
        """A Transcript listener: stream text, or a display bundle."""
        with self._lock:
            if kind == "display":
                self._flush_locked({"id": self._request, "type": "display", "data": value})
                return
            self._pending[kind].append(value)
            if not self._due:
                now = time.monotonic()
                self._due = True
                self._due_at = max(now + self._first_delay, self._last_sent + self._interval)
                self._lock.notify()

    def flush(self) -> None:
        """Send whatever text is gathered."""
        with self._lock:
            self._flush_locked()

    def send_with(self, message: Message) -> None:
        """Send whatever text is gathered, then message (a result, an input request), in one
        write."""
        with self._lock:
            self._flush_locked(message)

    def _flush_locked(self, then: Optional[Message] = None) -> None:
        messages = []
        for name, chunks in self._pending.items():
            if chunks:
                text = "".join(chunks)
                chunks.clear()
                messages.append({"id": self._request, "type": "stream", "name": name, "text": text})
        if messages:
            self._last_sent = time.monotonic()
        if then is not None:
            messages.append(then)
        self._due = False
        if messages:
            self._send_all(messages)

    def _sender(self) -> None:
        with self._lock:
            while True:
                while not self._due:
                    self._lock.wait()
                delay = self._due_at - time.monotonic()
                if delay > 0:
                    self._lock.wait(delay)
                    continue  # due still, or flushed meanwhile: look again
                self._flush_locked()
