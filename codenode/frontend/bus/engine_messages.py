"""What an engine may send on its bus, checked before a notebook session acts on it.

An engine runs a user's code, and that code can write to the engine's own socket: whatever
arrives is that one engine's doing. A message that is not what docs/engine-protocol.md says is
refused here, and the session makes it the engine's error (the evaluation it names fails,
saying why), never the backend's.
"""

from __future__ import annotations

from typing import Any

# type → its fields that must be there, and their types.
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "state": {"state": str},
    "stream": {"name": str, "text": str},
    "display": {"data": dict},
    "input_request": {},
    "result": {},
    "reply": {},
    "error": {},
}
# field → its type, wherever it is present and not null.
OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "reason": str,
    "prompt": str,
    "op": str,
    "content": dict,
    "message": str,
    "input_count": int,
    "error": dict,
    "backend": str,
}
ERROR_FIELDS = ("ename", "evalue")
STREAMS = ("stdout", "stderr")


def problem(message: Any) -> str | None:
    """What is wrong with an engine's message, or None if a session may act on it."""
    if not isinstance(message, dict):
        return "a message is a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "a message needs a 'type' (a string)"
    request_id = message.get("id")
    if request_id is not None and (not isinstance(request_id, int) or isinstance(request_id, bool)):
        return "'id' must be an integer or null"
    for name, expected in REQUIRED.get(kind, {}).items():
        if not isinstance(message.get(name), expected):
            return f"a {kind!r} message needs {name!r} ({_name(expected)})"
    for name, expected in OPTIONAL.items():
        value = message.get(name)
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            return f"{name!r} must be {_name(expected)}"
    if kind == "stream" and message["name"] not in STREAMS:
        return f"a stream is {' or '.join(STREAMS)}, not {message['name']!r}"
    if kind == "display" and not all(
        isinstance(value, (str, dict, list)) for value in message["data"].values()
    ):  # text, base64, or JSON documents (application/json and the like)
        return "a display's data maps MIME types to strings or JSON documents"
    error = message.get("error")
    if kind == "result" and error is not None:
        for name in ERROR_FIELDS:
            if not isinstance(error.get(name), str):
                return f"a result's error needs {name!r} (a string)"
        if not isinstance(error.get("traceback", ""), str):
            return "a result's error traceback is a string"
    return None


def _name(expected: type | tuple[type, ...]) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(
        {"dict": "an object", "str": "a string", "int": "an integer"}.get(k.__name__, k.__name__)
        for k in kinds
    )
