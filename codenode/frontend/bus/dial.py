"""Opening the WebSocket to an engine's bus on its backend (``WS /engines/{id}/bus``)."""

from __future__ import annotations

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidURI

from codenode.frontend.backends.registry import Placement

FAILURES = (OSError, InvalidHandshake, InvalidURI, TimeoutError)
"""What ``dial`` raises when the engine's bus cannot be reached."""


async def dial(placement: Placement) -> ClientConnection:
    """A connection to the engine's bus; one of ``FAILURES`` if it cannot be had."""
    return await connect(
        placement.bus_url,
        additional_headers=placement.headers,
        max_size=None,
        compression=None,  # small JSON messages: deflate costs more than it saves
        open_timeout=10,
        ping_interval=None,  # the frontend notices a lost backend by the socket
    )
