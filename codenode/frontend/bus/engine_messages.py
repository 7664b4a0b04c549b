"""What an engine may send on its bus, checked before a notebook session acts on it.

An engine runs a user's code, and that code can write to the engine's own socket: whatever
arrives is that one engine's doing. A message that is not one of the backend bus's messages
(codenode/protocol/backend.py, docs/engine-protocol.md) is refused here, and the session makes
it the engine's error (the evaluation it names fails, saying why), never the backend's.

The backend's first message says which bus protocol it speaks. One this frontend does not
speak is not refused as malformed (it names no evaluation: it would be dropped, and the
notebook would wait): ``problem`` turns it into the engine's death, with a reason naming both
versions, so the session fails what waits with that reason and says it to every tab.
"""

from __future__ import annotations

from typing import Any

from codenode.protocol import backend


def problem(message: Any) -> str | None:
    """What is wrong with an engine's message, or None if a session may act on it (after
    ``mismatch``, which may have made it a death)."""
    said = backend.MESSAGES.problem(message)
    if said is None and message["type"] == "state":
        mismatch(message)
    return said


def mismatch(state: dict[str, Any]) -> bool:
    """Whether a state message announces a bus protocol other than this frontend's; if so it
    becomes the engine's death, saying why."""
    spoken = state.get("protocol", backend.VERSION)
    if spoken == backend.VERSION:
        return False
    state.clear()
    state.update(
        type="state",
        state="dead",
        reason=(
            f"the backend speaks engine bus protocol {spoken!r}, and this frontend speaks"
            f" {backend.VERSION}: run the same version of Codenode on both"
        ),
    )
    return True
