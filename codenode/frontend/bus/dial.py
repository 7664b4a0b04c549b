"""Opening the WebSocket to an engine's bus on its backend (``WS /engines/{id}/bus``).

The bus's first message says which version of it the backend speaks
(codenode/protocol/backend.py): one that this frontend does not speak is refused here, and
nothing is sent on it.
"""

from __future__ import annotations

import asyncio
import contextlib

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from codenode.frontend.backends.registry import Placement
from codenode.frontend.bus import engine_messages
from codenode.protocol import batches, jsontext

HELLO_SECONDS = 10.0


class Refused(Exception):
    """The engine's bus answered, but not in a version of the protocol this frontend speaks."""


FAILURES = (OSError, InvalidHandshake, InvalidURI, TimeoutError, Refused)
"""What ``dial`` raises when the engine's bus cannot be reached or used."""


async def dial(placement: Placement) -> ClientConnection:
    """A connection to the engine's bus, its hello read; one of ``FAILURES`` if it cannot be
    had."""
    connection = await connect(
        f"{placement.bus_url}?{batches.QUERY}=1",  # an engine's bursts in one frame each
        additional_headers=placement.headers,
        max_size=None,
        compression=None,  # small JSON messages: deflate costs more than it saves
        open_timeout=10,
        ping_interval=None,  # the frontend notices a lost backend by the socket
    )
    try:
        first = batches.split(
            jsontext.decode(await asyncio.wait_for(connection.recv(), HELLO_SECONDS))
        )
        hello = first[0] if len(first) == 1 else first
    except (ConnectionClosed, ValueError, TimeoutError) as exc:
        hello = f"{type(exc).__name__}: {exc}"
    why = engine_messages.refusal(hello)
    if why is not None:
        with contextlib.suppress(Exception):
            await connection.close()
        raise Refused(why)
    return connection
