"""The backend's engine bus: a client (the frontend) and one engine, JSON over a WebSocket.

``WS /engines/{engine_id}/bus`` on the backend, with its bearer token. Every message is one
JSON object in a text frame, or, for a client that connects with ``?batches=1`` (the frontend
does), every frame is a JSON array of messages (batches.py). A client sends the engine's own
requests (engine.py), but only ``evaluate``, ``complete``, ``introspect`` and
``input_reply``, with ids of its own choosing: the backend numbers them anew for the engine
(several clients may share one engine) and puts the client's id back on everything that
answers them.

The backend sends the engine's messages (``Stream``, ``Display``, ``InputRequest``,
``Result``, ``Reply``, ``Error``) with the client's ids, its own ``Error`` for a request it
refused or that the engine's death cut short, and ``State``. The first message on a new
connection is ``Hello``, saying which ``VERSION`` of this bus the backend speaks, then the
engine's ``State``. A client checks the hello: the frontend refuses a backend that speaks
another version, or says no hello (one from before versions), and the engine's start fails
saying both versions (frontend/bus/dial.py).
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

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The most a client's message may hold: the backend's server (uvicorn's WebSocket limit,
its default) closes a connection that sends more with code 1009. What the backend sends is
bounded by the engine's frames (64 MiB) instead: a client reads messages of any size."""


class Hello(TypedDict):
    """The first message on a new connection: the version of this bus the backend speaks."""

    type: Literal["hello"]
    protocol: int


class State(TypedDict):
    """The engine's state: right after the hello, then each time it changes. A dead engine's
    says why (``reason``), how it ended (``exit_code`` or ``signal``) and the last lines it
    wrote to its own stderr."""

    type: Literal["state"]
    state: Literal["starting", "idle", "busy", "dead"]
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
        Hello,
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
