"""What a tab may send on the bus, checked before anything acts on it (docs/bus.md).

The messages are defined in codenode/protocol/browser.py, which checks their fields; this
adds the frontend's limits on their size: one on what a person may type, and one so that what
the frontend passes on fits in a message of the engine's bus (protocol/backend.py): a message
over that limit would close the connection to the backend, for every notebook on it.
"""

from __future__ import annotations

from typing import Any

from codenode.protocol import backend, browser, jsontext

MAX_SOURCE = 10_000_000
"""A cell's source is at most this many characters."""

_LONG = ("source", "text", "title", "value")  # the fields that hold what a person typed
# The fields passed on to the engine's bus, with room for the rest of its message.
_FORWARDED = ("source", "text", "expr", "value")
_FORWARDED_BYTES = backend.MAX_MESSAGE_BYTES - 4096
# At most, as the engine link writes a character: 4 bytes of UTF-8, or 12 escaped (\ud83d\ude00)
# in a message that holds a lone surrogate (jsontext.py).
_JSON_CHAR_BYTES = 12


def check(message: Any) -> str | None:
    """What is wrong with a tab's message, or None if it may be acted on."""
    problem = browser.REQUESTS.problem(message)
    if problem is not None:
        return problem
    for name in _LONG:
        value = message.get(name)
        if isinstance(value, str) and len(value) > MAX_SOURCE:
            return f"{name!r} is longer than {MAX_SOURCE:,} characters"
    for name in _FORWARDED:
        value = message.get(name)
        if isinstance(value, str) and len(value) * _JSON_CHAR_BYTES > _FORWARDED_BYTES:
            size = len(jsontext.encode(value).encode())  # as the engine link writes it
            if size > _FORWARDED_BYTES:
                return (
                    f"{name!r} takes {size:,} bytes as JSON (an emoji, for one, takes 4), over the"
                    f" {backend.MAX_MESSAGE_BYTES // (1024 * 1024)} MiB that the engine's bus"
                    " carries in one message"
                )
    return None


def needs_writer(op: str) -> bool:
    """Whether only a collaborator or the owner may send op (anything but ping)."""
    return op not in browser.READ_ONLY
