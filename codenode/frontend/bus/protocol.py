"""What a tab may send on the bus, checked before anything acts on it (docs/bus.md).

The messages are defined in codenode/protocol/browser.py, which checks their fields; this
adds the frontend's limits on their size.
"""

from __future__ import annotations

from typing import Any

from codenode.protocol import browser

MAX_SOURCE = 10_000_000
"""A cell's source is at most this many characters."""

_LONG = ("source", "text", "title", "value")  # the fields that hold what a person typed


def check(message: Any) -> str | None:
    """What is wrong with a tab's message, or None if it may be acted on."""
    problem = browser.REQUESTS.problem(message)
    if problem is not None:
        return problem
    for name in _LONG:
        value = message.get(name)
        if isinstance(value, str) and len(value) > MAX_SOURCE:
            return f"{name!r} is longer than {MAX_SOURCE:,} characters"
    return None


def needs_writer(op: str) -> bool:
    """Whether only a collaborator or the owner may send op (anything but ping)."""
    return op not in browser.READ_ONLY
