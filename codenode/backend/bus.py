"""The engine bus: one WebSocket per client per engine, JSON messages both ways.

Every message is defined in codenode/protocol/backend.py, which checks them too. The first
message to a client says this bus's protocol version, the next the engine's state. A
malformed message is answered with an error; the engine never sees it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from codenode.backend.engines import Engine, Subscriber
from codenode.protocol import backend as protocol


def check(message: Any) -> str | None:
    """What is wrong with a client's message, or None."""
    return protocol.REQUESTS.problem(message)


async def serve(websocket: WebSocket, engine: Engine) -> None:
    """Attach one client to engine until it disconnects."""
    subscriber = Subscriber()
    engine.watch(subscriber)
    sender = asyncio.create_task(_send_all(websocket, subscriber))
    subscriber.deliver({"type": "hello", "protocol": protocol.VERSION})
    subscriber.deliver({"type": "state", "state": engine.state, **engine.exit})
    try:
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text)
            except ValueError as exc:
                subscriber.deliver({"id": None, "type": "error", "message": f"not JSON: {exc}"})
                continue
            problem = check(message)
            if problem is not None:
                request_id = message.get("id") if isinstance(message, dict) else None
                subscriber.deliver({"id": request_id, "type": "error", "message": problem})
                continue
            await engine.request(subscriber, message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        engine.unwatch(subscriber)
        sender.cancel()


async def _send_all(websocket: WebSocket, subscriber: Subscriber) -> None:
    try:
        while True:
            message = await subscriber.queue.get()
            try:
                await websocket.send_json(message)
            except UnicodeEncodeError:  # a lone surrogate (a client's own id, say): escaped
                await websocket.send_text(json.dumps(message))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
