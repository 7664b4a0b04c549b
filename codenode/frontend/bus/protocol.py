"""What a tab may send on the bus, checked before anything acts on it (docs/bus.md)."""

from __future__ import annotations

from typing import Any

from codenode.frontend.db import CELL_KINDS

MAX_SOURCE = 10_000_000
"""A cell's source is at most this many characters."""

# op → (its fields and their types, whether it changes or runs the notebook).
OPS: dict[str, tuple[dict[str, Any], bool]] = {
    "evaluate": ({"cell_id": str, "source": str}, True),
    "complete": ({"text": str}, True),
    "introspect": ({"expr": str}, True),
    "input_reply": ({"value": str}, True),
    "interrupt": ({}, True),
    "restart": ({}, True),
    "stop": ({}, True),
    "insert_cell": ({}, True),
    "update_cell": ({"cell_id": str}, True),
    "move_cell": ({"cell_id": str, "position": int}, True),
    "delete_cell": ({"cell_id": str}, True),
    "rename": ({"title": str}, True),
    "ping": ({}, False),
}
OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "cursor": int,
    "detail": int,
    "position": int,
    "kind": str,
    "source": str,
    "cell_id": str,
}


def check(message: Any) -> str | None:
    """What is wrong with a tab's message, or None if it may be acted on."""
    if not isinstance(message, dict):
        return "a message is a JSON object"
    op = message.get("op")
    if op not in OPS:
        return f"unknown op {op!r}; known: {', '.join(OPS)}"
    request_id = message.get("id")
    if request_id is not None and (not isinstance(request_id, int) or isinstance(request_id, bool)):
        return "id must be an integer"
    fields, _ = OPS[op]
    for name, kind in fields.items():
        value = message.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{op} needs {name!r} ({kind.__name__})"
    for name, kind in OPTIONAL.items():
        value = message.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            return f"{name!r} must be {getattr(kind, '__name__', kind)}"
    kind_name = message.get("kind")
    if kind_name is not None and kind_name not in CELL_KINDS:
        return f"kind must be one of {', '.join(CELL_KINDS)}"
    for name in ("source", "text", "title", "value"):
        value = message.get(name)
        if isinstance(value, str) and len(value) > MAX_SOURCE:
            return f"{name!r} is longer than {MAX_SOURCE:,} characters"
    return None


def needs_writer(op: str) -> bool:
    return OPS[op][1]
