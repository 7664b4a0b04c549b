"""What every request passes before any route sees it, and what every answer carries.

Three ASGI middlewares, outermost first (``install`` adds them to the app; docs/security.md,
"Threat model: the frontend"):

- ``SecurityHeaders``: every HTTP answer (pages, API, static files, errors, refusals) gets
  ``Content-Security-Policy`` (a route's own wins: the pages and exports set theirs),
  ``X-Frame-Options: DENY``, ``Referrer-Policy``, ``Permissions-Policy`` and
  ``X-Content-Type-Options``.
- ``HostCheck``: against DNS rebinding, a request (HTTP or WebSocket) whose ``Host`` is not a
  name this site answers to gets 400 ``unknown_host``: a page on ``evil.example`` whose name
  now points at this machine cannot use it, even with ``Origin`` matching ``Host``.
- ``BodyLimit``: a request body larger than its route class takes gets 413 ``too_large``
  before it is parsed: from ``Content-Length`` before a byte is read, and by counting what a
  chunked body streams in.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codenode.frontend.interchange.files import MAX_IMPORT_BYTES

# --- Security headers -------------------------------------------------------------------------

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For answers that are not pages (JSON, files): nothing in them may load or run anything."""

PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), "
    "midi=(), magnetometer=(), gyroscope=(), accelerometer=()"
)
"""Powerful features no page of Codenode uses, off for it and anything it frames."""

SECURITY_HEADERS = (
    ("content-security-policy", API_CSP),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", PERMISSIONS_POLICY),
    ("x-content-type-options", "nosniff"),
)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, text: str
) -> None:
    """Answer *scope* with the one error shape, over HTTP or as a WebSocket's denial."""
    body = json.dumps({"error": code, "message": text}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": text[:120]})
            return
        prefix = "websocket."
    else:
        prefix = ""
        headers.append((b"connection", b"close"))
    await send({"type": prefix + "http.response.start", "status": status, "headers": headers})
    await send({"type": prefix + "http.response.body", "body": body})


# --- Host -------------------------------------------------------------------------------------

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Names a local run answers to, whatever is configured; so does every loopback address."""


def host_name(header: str) -> str | None:
    """The name in a ``Host`` header without its port: ``[::1]:8000`` is ``::1``,
    ``Example.org.:80`` is ``example.org``; None if the header is malformed."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        if end < 0:
            return None
        name, rest = header[1:end], header[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        try:
            ipaddress.IPv6Address(name.split("%", 1)[0])
        except ValueError:
            return None
        return name
    name, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    name = name.removesuffix(".")
    if not name or not all(c.isalnum() or c in "-._" for c in name):
        return None
    return name


def _loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def host_allowed(name: str, allowed: Iterable[str], own_address: str | None = None) -> bool:
    """Whether this site answers to the host *name* (from ``host_name``).

    Yes for the local names and every loopback address; for the address the connection
    reached (*own_address*, the ASGI scope's ``server``: the socket's own IP address, which
    names this machine and no attacker's domain); and for every entry of *allowed*: a name,
    ``.example.org`` for that name and every name under it, or ``*`` for any Host at all.
    """
    if name in LOCAL_HOSTS or _loopback(name):
        return True
    if own_address and name == own_address.lower().strip("[]"):
        return True
    for entry in allowed:
        entry = entry.strip().lower().removesuffix(".")
        if entry == "*":
            return True
        if entry.startswith("."):
            if name == entry[1:] or name.endswith(entry):
                return True
        elif (host_name(entry) or entry) == name:  # a port or brackets in the entry: dropped
            return True
    return False


def parse_allowed_hosts(text: str) -> tuple[str, ...]:
    """``CODENODE_ALLOWED_HOSTS``: names separated by commas or spaces."""
    return tuple(part for part in text.replace(",", " ").split() if part)


class HostCheck:
    """Refuses HTTP requests and WebSockets whose ``Host`` this site does not answer to."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = tuple(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"host")
        if header is not None:  # no Host: not a browser (browsers always send one)
            name = host_name(header)
            server = scope.get("server")
            own = str(server[0]) if server else None
            if name is None or not host_allowed(name, self.allowed, own):
                shown = header if len(header) <= 100 else header[:100] + "..."
                await _refuse(
                    scope,
                    receive,
                    send,
                    400,
                    "unknown_host",
                    f"this Codenode does not answer to the host {shown!r}: it answers to "
                    "localhost, its loopback and own addresses, and the names its operator "
                    "lists in CODENODE_ALLOWED_HOSTS",
                )
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


# --- Body size --------------------------------------------------------------------------------

KiB, MiB = 1024, 1024 * 1024

AUTH_BODY = 64 * KiB
"""Sign-in, sign-up, passwords, the session: a name and a password or two."""
AUTH_PATHS = frozenset(
    {"/api/login", "/api/signup", "/api/logout", "/api/password", "/api/session"}
)

NOTEBOOK_BODY = 16 * MiB
"""A notebook's routes (a cell's source, at most ``MAX_SOURCE`` characters): as much as the
bus takes in one message (uvicorn's WebSocket frame limit)."""

IMPORT_BODY = MAX_IMPORT_BYTES + 64 * KiB
"""An imported file and the multipart framing around it."""

API_BODY = 1 * MiB
"""Any other API route: shares, users, backends."""

OTHER_BODY = 64 * KiB
"""Anything else (pages and static files take no body)."""


def body_limit(method: str, path: str) -> int | None:
    """The most bytes a request body to *path* may have; None: the route bounds its own (the
    file routes stream uploads to the backend under the limit in docs/files.md)."""
    if path == "/api/files" or path.startswith("/api/files/"):
        return None
    if path in AUTH_PATHS:
        return AUTH_BODY
    if path == "/api/notebooks/import":
        return IMPORT_BODY
    if path == "/api/notebooks" or path.startswith("/api/notebooks/"):
        return NOTEBOOK_BODY
    if path.startswith("/api/"):
        return API_BODY
    return OTHER_BODY


class _TooLarge(Exception):
    """Raised into the app when a streamed body passes its limit."""


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit >= MiB else f"{limit // KiB} KiB"


class BodyLimit:
    """413 ``too_large`` for a request body over ``body_limit``, before the app parses it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        message = (
            f"the request body is larger than {_size(limit)}, the most "
            f"{scope['method']} {scope['path']} takes"
        )
        length = _header(scope, b"content-length")
        if length is not None:
            length = length.strip()
            if not length.isdigit():
                await _refuse(scope, receive, send, 400, "bad_request", "bad Content-Length")
                return
            if int(length) > limit:
                await _refuse(scope, receive, send, 413, "too_large", message)
                return

        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                raise _TooLarge()
            got = await receive()
            if got["type"] == "http.request":
                received += len(got.get("body", b""))
                if received > limit:
                    over = True
                    raise _TooLarge()
            return got

        async def guarded_send(reply: Message) -> None:
            nonlocal started
            if over and not started:
                return  # whatever the app made of the cut body: the 413 goes instead
            if reply["type"] == "http.response.start":
                started = True
            await send(reply)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await _refuse(scope, receive, send, 413, "too_large", message)


def install(app: Any, allowed_hosts: Iterable[str]) -> None:
    """The three guards on *app*, ``SecurityHeaders`` outermost (refusals get headers too)."""
    # add_middleware puts each new one outside those added before.
    app.add_middleware(BodyLimit)
    app.add_middleware(HostCheck, allowed=tuple(allowed_hosts))
    app.add_middleware(SecurityHeaders)
