"""Batches (protocol/batches.py) as the two WebSocket senders make them, in process: the
backend's engine bus and a tab of the notebook bus, each on a socket that records its frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from codenode.backend import bus
from codenode.backend.engines import Subscriber
from codenode.frontend.bus.tab import Tab
from codenode.protocol import batches

BUSY = {"type": "state", "state": "busy"}
IDLE = {"type": "state", "state": "idle"}
STREAM = {"id": 1, "type": "stream", "name": "stdout", "text": "4\n"}
RESULT = {"id": 1, "type": "result", "input_count": 1, "cmd_count": 1}
BIG = {**STREAM, "text": "x" * (batches.MAX_CHARS // 2)}


class Socket:
    """What the senders need of a WebSocket: the frames sent, in order."""

    def __init__(self) -> None:
        self.frames: list[Any] = []

    async def send_text(self, text: str) -> None:
        self.frames.append(json.loads(text))


async def _engine_bus(in_batches: bool, *rounds: list[dict[str, Any]]) -> list[Any]:
    """The frames the backend sends its client for rounds of messages, each round delivered
    at once, 50 ms after the last."""
    socket, subscriber = Socket(), Subscriber()
    sender = asyncio.create_task(bus._send_all(socket, subscriber, in_batches))  # type: ignore[arg-type]
    try:
        for messages in rounds:
            for message in messages:
                subscriber.deliver(message)
            await asyncio.sleep(0.05)
    finally:
        sender.cancel()
    return socket.frames


def test_what_is_ready_together_leaves_in_one_frame() -> None:
    frames = asyncio.run(_engine_bus(True, [BUSY], [STREAM, RESULT, IDLE]))
    # Nothing is held back to fill a batch: the busy left alone, as it came alone.
    assert frames == [[BUSY], [STREAM, RESULT, IDLE]]


def test_a_batch_stops_growing_at_its_size_limit() -> None:
    frames = asyncio.run(_engine_bus(True, [BIG, BIG, BIG, RESULT]))
    assert [len(frame) for frame in frames] == [2, 2]


def test_a_client_without_batches_gets_a_frame_a_message() -> None:
    assert asyncio.run(_engine_bus(False, [STREAM, RESULT, IDLE])) == [STREAM, RESULT, IDLE]


async def _tab(in_batches: bool, *rounds: list[dict[str, Any]]) -> list[Any]:
    socket = Socket()
    tab = Tab(socket, None, "owner", 1, in_batches)  # type: ignore[arg-type]
    tab.start()
    try:
        for messages in rounds:
            for message in messages:
                tab.send(message)
            await asyncio.sleep(0.05)
    finally:
        await tab.stop()
    return socket.frames


QUEUED = {"type": "queued", "cell_id": "c"}
OUTPUT = {"type": "output", "cell_id": "c", "output": {"type": "stream", "text": "4\n"}}
DONE = {"type": "result", "cell_id": "c", "execution_count": 1}
ENGINE_IDLE = {"type": "engine", "state": "idle"}


def test_a_tab_gets_an_evaluations_end_in_one_frame() -> None:
    sent = asyncio.run(_tab(True, [QUEUED], [OUTPUT, DONE, ENGINE_IDLE]))
    assert sent == [[QUEUED], [OUTPUT, DONE, ENGINE_IDLE]]


def test_a_tabs_batch_stops_growing_at_its_size_limit() -> None:
    sent = asyncio.run(_tab(True, [BIG, BIG, BIG, DONE]))
    assert [len(frame) for frame in sent] == [2, 2]


def test_a_tab_without_batches_gets_a_frame_a_message() -> None:
    assert asyncio.run(_tab(False, [QUEUED, DONE])) == [QUEUED, DONE]
