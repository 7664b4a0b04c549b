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
from codenode.protocol import batches, jsontext


def check(message: Any) -> str | None:
    """What is wrong with a client's message, or None."""
    return protocol.REQUESTS.problem(message)


async def serve(websocket: WebSocket, engine: Engine) -> None:
    """Attach one client to engine until it disconnects."""
    subscriber = Subscriber()
    engine.watch(subscriber)
    wants_batches = batches.wanted(websocket.query_params.get(batches.QUERY))
    # The hello alone in the first frame, whatever follows: a client reads it before anything.
    hello = batches.encode({"type": "hello", "protocol": protocol.VERSION})
    await websocket.send_text(batches.join([hello]) if wants_batches else hello)
    sender = asyncio.create_task(_send_all(websocket, subscriber, wants_batches))
    subscriber.deliver({"type": "state", "state": engine.state, **engine.exit})
    try:
        while True:
            text = await websocket.receive_text()
            try:
                message = jsontext.decode(text)
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


async def _send_all(websocket: WebSocket, subscriber: Subscriber, in_batches: bool) -> None:
    """Send the subscriber's messages as they come: one a frame, or (to a client that asked)
    all that are ready in one frame (protocol/batches.py)."""
    queue = subscriber.queue
    try:
        while True:
            message = await queue.get()
            if not in_batches:
                await _send(websocket, message, batches.encode(message))
                continue
            messages: list[Any] = []
            texts: list[str] = []
            size = 0
            while True:
                messages.append(message)
                texts.append(batches.encode(message))
                size += len(texts[-1])
                if size >= batches.MAX_CHARS or queue.empty():
                    break
                message = queue.get_nowait()
            await _send(websocket, messages, batches.join(texts))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


async def _send(websocket: WebSocket, payload: Any, text: str) -> None:
    try:
        await websocket.send_text(text)
    except UnicodeEncodeError:  # a lone surrogate (a client's own id, say): escaped
        await websocket.send_text(json.dumps(payload))
