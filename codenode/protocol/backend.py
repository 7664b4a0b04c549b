"""The backend's engine bus: a client (the frontend) and one engine, JSON over a WebSocket.

``WS /engines/{engine_id}/bus`` on the backend, with its bearer token. Every message is one
JSON object in a text frame. A client sends the engine's own requests (engine.py), but only
``evaluate``, ``complete``, ``introspect`` and ``input_reply``, with ids of its own choosing:
the backend numbers them anew for the engine (several clients may share one engine) and puts
the client's id back on everything that answers them.

The backend sends the engine's messages (``Stream``, ``Display``, ``InputRequest``,
``Result``, ``Reply``, ``Error``) with the client's ids, its own ``Error`` for a request it
refused or that the engine's death cut short, and ``State``. The first message on a new
connection is a ``State`` carrying ``protocol``: ``VERSION``, which a client checks (the
frontend makes another version the engine's death, saying both versions; a backend from
before versions announced none).
"""

from __future__ import annotations

from codenode.protocol import engine
from codenode.protocol.schema import Checker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, NotRequired, TypedDict
else:
    from codenode.protocol.schema import TypedDict

VERSION = 1
"""1: the first versioned bus (a ``Result`` holds no source nor output: engine protocol 2)."""


class State(TypedDict):
    """The engine's state: on connecting (with ``protocol``), then each time it changes.
    A dead engine's says why (``reason``), how it ended (``exit_code`` or ``signal``) and
    the last lines it wrote to its own stderr."""

    type: Literal["state"]
    state: Literal["starting", "idle", "busy", "dead"]
    protocol: NotRequired[int]
    reason: NotRequired[str]
    exit_code: NotRequired[int]
    signal: NotRequired[str]
    stderr: NotRequired[str]


REQUESTS = Checker(
    (engine.Evaluate, engine.Complete, engine.Introspect, engine.InputReply),
    tag="op",
    closed=True,  # the backend passes a request on as it is: nothing else may ride along
)
"""The backend's check of what a client sends."""

MESSAGES = Checker(
    (
        State,
        engine.Stream,
        engine.Display,
        engine.InputRequest,
        engine.Result,
        engine.Reply,
        engine.Error,
    ),
    tag="type",
)
"""A client's check of what the backend sends (fields it does not know are ignored)."""
