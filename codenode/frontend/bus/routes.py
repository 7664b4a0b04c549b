"""The bus's WebSocket: ``/api/notebooks/{notebook_id}/bus`` (docs/bus.md).

Checked like every route before the WebSocket is accepted: the session cookie, the role on
the notebook (anyone may watch a notebook whose public link is on), and the Origin header,
which must be this site's (a page elsewhere cannot open a bus with the user's cookie).
A tab that says which bus protocol it speaks (``?protocol=N``) and speaks another is told so
and the bus closed; the first message, the notebook, says which one this frontend speaks.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from codenode.frontend.access import notebook_access, user_of
from codenode.frontend.bus import protocol
from codenode.frontend.bus.session import NotebookSession
from codenode.frontend.bus.tab import Tab
from codenode.frontend.errors import FrontendError
from codenode.frontend.workspace import workspace_key
from codenode.protocol import batches, browser, jsontext

router = APIRouter()
_tabs = itertools.count(1)
PROTOCOL_MISMATCH = 4400
"""The close code for a tab that speaks another bus protocol than this frontend."""


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser; browsers always send it on WebSockets
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


async def _deny(websocket: WebSocket, code: str, message: str, status: int) -> None:
    body = JSONResponse({"error": code, "message": message}, status_code=status)
    await websocket.send_denial_response(body)


@router.websocket("/api/notebooks/{notebook_id}/bus")
async def notebook_bus(websocket: WebSocket, notebook_id: str) -> None:
    """A tab on a notebook: its requests in, the notebook's changes and output out."""
    if not _same_origin(websocket):
        await _deny(websocket, "forbidden", "the bus is only open to pages of this site", 403)
        return
    async with websocket.app.state.sessions() as db:
        user = await user_of(websocket, db)
        try:
            access = await notebook_access(db, user, notebook_id, "public")
        except FrontendError as exc:
            await _deny(websocket, exc.code, exc.message, exc.status)
            return
    await websocket.accept()
    spoken = websocket.query_params.get("protocol", str(browser.VERSION))
    if spoken != str(browser.VERSION):
        reason = (
            f"this page speaks notebook bus protocol {spoken[:20]}, and the frontend speaks"
            f" {browser.VERSION}: reload the page"
        )
        await websocket.close(PROTOCOL_MISMATCH, reason)
        return
    hub = websocket.app.state.hub
    # The engine works in the owner's workspace, whoever opens the notebook.
    workspace = workspace_key(access.notebook.owner_id, websocket.app.state.config.secret)
    session: NotebookSession = hub.session(notebook_id, access.notebook.engine_type, workspace)
    in_batches = batches.wanted(websocket.query_params.get(batches.QUERY))
    tab = Tab(websocket, user, access.role, next(_tabs), in_batches)
    tab.start()
    try:
        first = await session.join(tab)
        tab.send({**first, "protocol": browser.VERSION})
        if hub.config.engine_on_open and tab.can_write and session.link is None:
            await session.open_engine()
        elif session.link is None:  # one a frontend before this one left running, if any
            await session.readopt()
        while True:
            text = await websocket.receive_text()
            await _handle(session, tab, text)
    except WebSocketDisconnect:
        pass
    finally:
        session.tabs.pop(tab.number, None)
        await tab.stop()
        hub.release(session)


async def _handle(session: NotebookSession, tab: Tab, text: str) -> None:
    try:
        message: Any = jsontext.decode(text)
    except ValueError:
        tab.send({"type": "error", "id": None, "message": "a message is one JSON object"})
        return
    problem = protocol.check(message)
    tab_id = message.get("id") if isinstance(message, dict) else None
    if problem is not None:
        tab.send(
            {"type": "error", "id": tab_id if isinstance(tab_id, int) else None, "message": problem}
        )
        return
    op = message["op"]
    if protocol.needs_writer(op) and not tab.can_write:
        tab.send(
            {
                "type": "error",
                "id": tab_id,
                "message": f"a {tab.role} may not {op}: this notebook is read-only for you",
            }
        )
        return
    if op == "ping":
        tab.send({"type": "pong", "id": tab_id})
    elif op == "evaluate":
        await session.evaluate(tab, tab_id, message["cell_id"], message["source"])
    elif op in ("complete", "introspect", "input_reply"):
        await session.engine_request(tab, tab_id, message)
    elif op in ("interrupt", "restart", "stop"):
        try:
            await session.control(op)
        except FrontendError as exc:
            tab.send({"type": "error", "id": tab_id, "message": exc.message})
    else:
        await session.edit(tab, tab_id, op, message)
