"""The browser tabs on a notebook's bus: each with its WebSocket and a queue, so that a slow
tab slows no one; and all the tabs of one notebook, which are told the same things."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from codenode.frontend.db import User
from codenode.protocol import batches, jsontext

QUEUE_LIMIT = 20_000
QUEUE_BYTES = 16 * 1024 * 1024
"""Messages, and bytes of them, a tab may fall behind by; past either the tab is closed and,
reconnecting, gets the whole notebook as it is then (nothing is lost, only the backlog is
skipped). Bytes bound the memory a tab that stopped reading holds, whatever the output."""

log = logging.getLogger("codenode.frontend.bus")

TOO_SLOW = 4008


class Tab:
    """A connected tab: who it is, what it may do, and its outgoing messages."""

    def __init__(
        self,
        websocket: WebSocket,
        user: User | None,
        role: str,
        number: int,
        in_batches: bool = False,
    ) -> None:
        self.websocket = websocket
        self.in_batches = in_batches  # the tab asked for batches (protocol/batches.py)
        self.user = user
        self.role = role
        self.number = number
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        self._queued_bytes = 0
        self._dropped = False
        self._pump: asyncio.Task[None] | None = None

    @property
    def can_write(self) -> bool:
        return self.role in ("collaborator", "owner")

    def start(self) -> None:
        self._pump = asyncio.create_task(self._send_all(), name=f"tab-{self.number}")

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(jsontext.encode(message))

    def send_text(self, text: str) -> None:
        if self._dropped:
            return
        if self._queued_bytes + len(text) > QUEUE_BYTES and self._queued_bytes:
            self._drop()
            return
        try:
            self._queue.put_nowait(text)
            self._queued_bytes += len(text)
        except asyncio.QueueFull:
            self._drop()

    def _drop(self) -> None:
        """The tab is too far behind: drop its backlog and close it (once)."""
        log.info(
            "tab %d closed: %d messages (%d bytes) behind; it reloads the notebook",
            self.number,
            self._queue.qsize(),
            self._queued_bytes,
        )
        self._dropped = True
        self._queued_bytes = 0
        self._queue = asyncio.Queue(1)  # drop the backlog: the tab will start afresh
        self._queue.put_nowait(None)
        asyncio.get_running_loop().create_task(self._close(TOO_SLOW, "too far behind"))

    async def _send_all(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                text = await self._queue.get()
                if text is None:
                    return
                if not self.in_batches:
                    self._queued_bytes = max(0, self._queued_bytes - len(text))
                    await self.websocket.send_text(text)
                    continue
                texts, last = self._ready_with(text)
                self._queued_bytes = max(0, self._queued_bytes - sum(map(len, texts)))
                await self.websocket.send_text(batches.join(texts))
                if last:
                    return

    def _ready_with(self, text: str) -> tuple[list[str], bool]:
        """text and what else is queued, up to a batch's size; whether the end came too."""
        texts, size = [text], len(text)
        while size < batches.MAX_CHARS and not self._queue.empty():
            more = self._queue.get_nowait()
            if more is None:
                return texts, True
            texts.append(more)
            size += len(more)
        return texts, False

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self.websocket.close(code, reason)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send what is queued, then close."""
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        if self._pump is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pump), 2)
        await self._close(code, reason)

    async def stop(self) -> None:
        """The tab went away: stop sending."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


class Tabs(dict[int, Tab]):
    """The tabs that show one notebook, by number."""

    def broadcast(self, message: dict[str, Any]) -> None:
        """Tell every tab (the message is encoded once, whatever the number of tabs)."""
        text = jsontext.encode(message)
        for tab in list(self.values()):
            tab.send_text(text)
