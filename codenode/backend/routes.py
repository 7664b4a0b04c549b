"""The admin channel's routes (HTTP + JSON) and the engine bus's WebSocket.

Module-level routes on the app's state (``app.state.table``, set by ``create_app``): they
read the engine table of the app that serves them. The HTTP routes sit behind ``authorized``
(``create_app`` includes them so); the bus checks the token itself, before it accepts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

import codenode
from codenode.backend import bus, metrics
from codenode.backend.access import UNAUTHORIZED, admitted
from codenode.backend.table import EngineTable
from codenode.openapi import errors
from codenode.web import error_response


class StartRequest(BaseModel):
    """Body of POST /engines."""

    type: str
    # The workspace a sandboxed engine works in: an opaque key chosen by the frontend (one per
    # user, say); the backend maps it to a folder of its own. None: the "default" workspace.
    workspace: str | None = None


def _table(request: Request) -> EngineTable:
    table: EngineTable = request.app.state.table
    return table


Table = Annotated[EngineTable, Depends(_table)]

router = APIRouter()
"""The HTTP routes; ``create_app`` includes them behind the token."""


@router.get("/health")
async def health(table: Table) -> dict[str, Any]:
    """Whether the backend answers, and how many engines it runs."""
    return {"status": "ok", "engines": len(table.engines), "version": codenode.__version__}


@router.get("/engine-types")
async def engine_types(table: Table) -> dict[str, Any]:
    """Engine types from the plug-in files, and the files that are broken."""
    listing = table.plugins.listing()
    for shown in listing["types"]:
        template = table.templates.describe(shown["name"])
        if template is not None:
            shown["template"] = template
    return listing


@router.get("/engines")
async def list_engines(table: Table) -> dict[str, Any]:
    """Running engines (and dead ones not yet stopped) with their state."""
    return {"engines": [engine.describe() for engine in table.engines.values()]}


@router.post("/engines", status_code=201, responses=errors(503))
async def start_engine(body: StartRequest, table: Table) -> dict[str, Any]:
    """Start an engine of a type (from the pool when one is ready)."""
    engine = await table.start(body.type, body.workspace)
    return engine.describe()


@router.get("/engines/{engine_id}")
async def get_engine(engine_id: str, table: Table) -> dict[str, Any]:
    """One engine."""
    return table.get(engine_id).describe()


@router.delete("/engines/{engine_id}", status_code=204)
async def stop_engine(engine_id: str, table: Table) -> Response:
    """Stop an engine; its process is gone when this answers."""
    await table.stop(engine_id)
    return Response(status_code=204)


@router.post("/engines/{engine_id}/interrupt", status_code=202)
async def interrupt_engine(engine_id: str, table: Table) -> dict[str, Any]:
    """Interrupt what the engine runs (SIGINT to its process group)."""
    engine = table.get(engine_id)
    await engine.interrupt()
    return engine.describe()


@router.post("/engines/{engine_id}/restart", responses=errors(503))
async def restart_engine(engine_id: str, table: Table) -> dict[str, Any]:
    """A fresh process with a fresh namespace, under the same id."""
    engine = table.get(engine_id)
    await engine.restart()
    return engine.describe()


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus(table: Table) -> PlainTextResponse:
    """Prometheus text format: engines by state and type, starts, deaths, evaluations."""
    body, content_type = metrics.render(table)
    return PlainTextResponse(body, media_type=content_type)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI description of this API."""
    spec: dict[str, Any] = request.app.openapi()
    return spec


bus_router = APIRouter()
"""The engine bus: it checks the token itself (a WebSocket is refused before it is accepted)."""


@bus_router.websocket("/engines/{engine_id}/bus")
async def engine_bus(websocket: WebSocket, engine_id: str) -> None:
    """Evaluate / complete / introspect and their streamed replies, plus state events."""
    if not admitted(websocket):
        response = error_response("unauthorized", UNAUTHORIZED, 401)
        await websocket.send_denial_response(response)
        return
    table: EngineTable = websocket.app.state.table
    engine = table.engines.get(engine_id)
    if engine is None:
        await websocket.close(code=4404, reason="no such engine")
        return
    await websocket.accept()
    await bus.serve(websocket, engine)
