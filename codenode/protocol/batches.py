"""Batches: several messages of a WebSocket wire (the engine bus, the notebook bus) in one
text frame, for a client that asks for them.

A client that connects with ``?batches=1`` gets every text frame as a JSON array of messages,
to be taken in order: the messages that were ready to leave together (an evaluation's last
output, its result and the engine's new state, say), where it would have got one frame each.
Every frame and system call on the way costs each process on the path some CPU, and on a
machine with few cores that is the latency. A client that does not ask gets one message per
frame, as before.
"""

from __future__ import annotations

from typing import Any

from codenode.protocol import jsontext

QUERY = "batches"
"""The query parameter a client sets to ``1`` to get batches."""

MAX_CHARS = 1 << 20
"""A batch grows until it holds this many characters (then the next frame holds the rest):
one large output does not wait behind others, nor do many make one huge frame."""


def wanted(query: str | None) -> bool:
    """Whether the client's ``batches`` query parameter asks for batches."""
    return query == "1"


def encode(message: Any) -> str:
    """One message as a frame's text (jsontext.py)."""
    return jsontext.encode(message)


def join(texts: list[str]) -> str:
    """The batch of the messages already encoded in texts."""
    return "[" + ",".join(texts) + "]"


def split(decoded: Any) -> list[Any]:
    """The messages of one frame's decoded JSON: a batch's, or the one of a frame from a
    server that sends no batches (one from before them)."""
    return decoded if isinstance(decoded, list) else [decoded]
