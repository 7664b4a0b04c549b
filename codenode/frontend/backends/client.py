"""The frontend's HTTP calls to a backend's admin channel, with its failures in words.

Every call goes through one ``httpx.AsyncClient`` (connections are reused; TLS certificates
are verified). A call that does not end in a 2xx answer raises ``BackendFailure`` whose
``reason`` is short enough for a status page: "connection refused", "timed out",
"401: wrong token", "503: engine type 'sage' is unavailable: ...". The token goes in the
``Authorization`` header and nowhere else: not in a reason, not in the log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

CHECK_TIMEOUT = 2.0
"""Seconds a health check may take, all of it: a backend slower than this counts as down."""

OPERATION_TIMEOUT = 60.0
"""Seconds for starting, stopping, restarting an engine: a start waits for the engine's ready
(each engine type has its own ``start_timeout``, 10 s by default)."""

# httpx logs every request at INFO: the health checks alone would add a line per backend every
# few seconds to the frontend's log.
logging.getLogger("httpx").setLevel(logging.WARNING)


class BackendFailure(Exception):
    """A backend call that failed; ``status`` is the backend's HTTP status, if it answered."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def unreachable(self) -> bool:
        """The backend itself is in trouble (not answering, wrong token, broken), as opposed
        to refusing one request (unknown engine, type unavailable, an engine that failed to
        start): the registry stops placing engines on it until a check says otherwise."""
        return (
            self.status is None or self.status == 401 or (self.status >= 500 and self.status != 503)
        )


def transport_reason(exc: httpx.TransportError) -> str:
    """A short reason for a network-level failure."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text.lower() or "all connection attempts failed" in text.lower():
            return "connection refused"
        return f"cannot connect: {text}"
    return f"connection failed: {text}"


def answer_reason(response: httpx.Response) -> str:
    """A short reason for a non-2xx answer: its status and the backend's own message."""
    if response.status_code == 401:
        return "401: wrong token"
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    if not isinstance(message, str) or not message:
        message = response.reason_phrase or "error"
    return f"{response.status_code}: {message[:300]}"


class BackendClient:
    """Calls to backends' admin channels; each call names the backend by its URL and token."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(OPERATION_TIMEOUT, connect=CHECK_TIMEOUT),
            transport=transport,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        url: str,
        token: str,
        path: str,
        json: dict[str, Any] | None = None,
        timeout: float = OPERATION_TIMEOUT,
    ) -> Any:
        """The JSON answer (None for an empty one) of *method* *path* on the backend at *url*."""
        try:
            response = await self.http.request(
                method,
                url.rstrip("/") + path,
                headers={"Authorization": f"Bearer {token}"},
                json=json,
                timeout=httpx.Timeout(timeout, connect=min(timeout, CHECK_TIMEOUT)),
            )
        except httpx.TransportError as exc:
            raise BackendFailure(transport_reason(exc)) from None
        if not response.is_success:
            raise BackendFailure(answer_reason(response), response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BackendFailure(
                f"{response.status_code}: not a Codenode backend (the answer is not JSON)",
                500,
            ) from None

    async def check(self, url: str, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """GET /health and /engine-types together, within ``CHECK_TIMEOUT`` seconds in all."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                # Both run to the end (or the timeout), so no failure is left unretrieved.
                answers: tuple[Any, ...] = await asyncio.gather(
                    self.call("GET", url, token, "/health", timeout=CHECK_TIMEOUT),
                    self.call("GET", url, token, "/engine-types", timeout=CHECK_TIMEOUT),
                    return_exceptions=True,
                )
        except TimeoutError:
            raise BackendFailure("timed out") from None
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        health, types = answers
        if not isinstance(health, dict) or not isinstance(types, dict):
            raise BackendFailure("not a Codenode backend (unexpected answers)", 500)
        return health, types
