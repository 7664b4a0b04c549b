"""The engine bus: one WebSocket per client per engine, JSON messages both ways.

Client -> backend: {"id", "op": "evaluate", "code"}, {"id", "op": "complete", "text",
"cursor"?}, {"id", "op": "introspect", "expr", "detail"?}, {"id", "op": "input_reply", "value"}.
Backend -> client: the engine's messages with the client's own ids, and state events.
A malformed message is answered with an error; the engine never sees it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from codenode.backend.engines import Engine, Subscriber

# op -> (required fields, optional fields), each with its type.
OPS: dict[str, tuple[dict[str, type], dict[str, type]]] = {
    "evaluate": ({"code": str}, {}),
    "complete": ({"text": str}, {"cursor": int}),
    "introspect": ({"expr": str}, {"detail": int}),
    "input_reply": ({"value": str}, {}),
}


def check(message: Any) -> str | None:
    """What is wrong with a client's message, or None."""
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    op = message.get("op")
    if op not in OPS:
        return f"unknown op {op!r}: expected one of {', '.join(OPS)}"
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return "id must be a string or an integer"
    required, optional = OPS[op]
    for name, kind in required.items():
        if not isinstance(message.get(name), kind):
            return f"{op} needs {name!r} ({kind.__name__})"
    for name, kind in optional.items():
        value = message.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            return f"{op}: {name!r} must be {kind.__name__}"
    extra = set(message) - {"id", "op"} - set(required) - set(optional)
    if extra:
        return f"{op}: unexpected fields {sorted(extra)}"
    return None


async def serve(websocket: WebSocket, engine: Engine) -> None:
    """Attach one client to engine until it disconnects."""
    subscriber = Subscriber()
    engine.watch(subscriber)
    sender = asyncio.create_task(_send_all(websocket, subscriber))
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
            await websocket.send_json(await subscriber.queue.get())
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
