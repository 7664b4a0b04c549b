"""The backend's one credential: ``Authorization: Bearer <token>`` on every route.

The token is the app's (``app.state.token``, set by ``create_app``); the HTTP routes are
included behind ``authorized``, and the engine bus, which must refuse before it accepts the
WebSocket, asks ``admits`` itself.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.requests import HTTPConnection

from codenode.backend.errors import Unauthorized

UNAUTHORIZED = "a valid 'Authorization: Bearer <token>' header is required"


class Token:
    """The backend's token, compared with what a connection presents."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def __repr__(self) -> str:
        return "Token(...)"  # the token itself never goes into a log or a traceback

    def admits(self, connection: HTTPConnection) -> bool:
        """Whether connection's Authorization header holds the token."""
        # Constant-time comparison: the answer's timing tells nothing about the token.
        given = connection.headers.get("authorization", "").encode()
        return hmac.compare_digest(given, self._expected)


def admitted(connection: HTTPConnection) -> bool:
    """Whether connection holds the token of the app it came to."""
    token: Token = connection.app.state.token
    return token.admits(connection)


def authorized(request: Request) -> None:
    """A dependency: Unauthorized (401) unless the request holds the token."""
    if not admitted(request):
        raise Unauthorized(UNAUTHORIZED)
