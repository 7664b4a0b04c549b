"""What an engine may send on its bus, checked before a notebook session acts on it.

An engine runs a user's code, and that code can write to the engine's own socket: whatever
arrives is that one engine's doing. A message that is not one of the backend bus's messages
(codenode/protocol/backend.py, docs/engine-protocol.md) is refused here, and the session makes
it the engine's error (the evaluation it names fails, saying why), never the backend's.

The backend's first message, its hello, is checked apart when the bus is opened (``refusal``,
in dial.py): a backend that speaks another version of the bus is not used at all.
"""

from __future__ import annotations

from typing import Any

from codenode.protocol import backend


def problem(message: Any) -> str | None:
    """What is wrong with an engine's message, or None if a session may act on it."""
    return backend.MESSAGES.problem(message)


def refusal(hello: Any) -> str | None:
    """Why this frontend cannot use a backend whose bus said hello so, or None."""
    spoken = hello.get("protocol") if isinstance(hello, dict) else None
    if isinstance(hello, dict) and hello.get("type") == "hello" and spoken == backend.VERSION:
        return None
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        return (
            "the backend says no engine bus protocol version (it is older than this"
            f" frontend, which speaks {backend.VERSION}): run the same version of Codenode"
            " on both"
        )
    return (
        f"the backend speaks engine bus protocol {spoken!r}, and this frontend speaks"
        f" {backend.VERSION}: run the same version of Codenode on both"
    )
