"""Streams a running evaluation's output to the parent, coalesced into few frames.

A cell that prints a line at a time would otherwise cost a frame per line. Text is sent at once
when the stream has been quiet for an interval, else gathered and sent when the interval is up:
at most ~50 frames a second per stream, and never a character lost or reordered.
"""

from __future__ import annotations

import threading
import time

from codenode.engine import background

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Union

    RequestId = Optional[Union[str, int]]
    Send = Callable[[Dict[str, Any]], None]

INTERVAL = 0.02  # seconds between two frames of one stream


class Coalescer:
    """Gathers stream text for the request under way and sends it as ``stream`` messages."""

    def __init__(self, send: Send, interval: float = INTERVAL) -> None:
        self._send = send
        self._interval = interval
        self._request: RequestId = None
        self._pending: Dict[str, List[str]] = {"stdout": [], "stderr": []}
        self._last_sent = 0.0
        self._due = False
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
                self._flush_locked()
                self._send({"id": self._request, "type": "display", "data": value})
                return
            self._pending[kind].append(value)
            if time.monotonic() - self._last_sent >= self._interval:
                self._flush_locked()
            elif not self._due:
                self._due = True
                self._lock.notify()

    def flush(self) -> None:
        """Send whatever text is gathered."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        for name, chunks in self._pending.items():
            if chunks:
                text = "".join(chunks)
                chunks.clear()
                self._send({"id": self._request, "type": "stream", "name": name, "text": text})
        self._last_sent = time.monotonic()
        self._due = False

    def _sender(self) -> None:
        with self._lock:
            while True:
                while not self._due:
                    self._lock.wait()
                delay = self._last_sent + self._interval - time.monotonic()
                if delay > 0:
                    self._lock.wait(delay)
                if self._due:
                    self._flush_locked()
