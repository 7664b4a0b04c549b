"""The backend's web application: the admin channel (HTTP + JSON) and the engine bus.

Every route, the WebSocket included, requires ``Authorization: Bearer <token>``. The backend
knows engine types and running engines, never users or notebooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.requests import HTTPConnection

import codenode
from codenode.backend import bus, metrics
from codenode.backend.cgroups import Cgroups
from codenode.backend.errors import BackendError, Unauthorized
from codenode.backend.fileroutes import file_routes
from codenode.backend.openapi import LINKS
from codenode.backend.plugins import PluginFolder
from codenode.backend.table import EngineTable
from codenode.backend.workspaces import Workspaces
from codenode.environment import default_home
from codenode.openapi import describe_links, errors
from codenode.web import answer_errors_as_json, error_response

log = logging.getLogger("codenode.backend")
UNAUTHORIZED = "a valid 'Authorization: Bearer <token>' header is required"
DEFAULT_ORPHAN_SECONDS = 600.0  # an engine no frontend holds is stopped after this long


class StartRequest(BaseModel):
    """Body of POST /engines."""

    type: str
    # The workspace a sandboxed engine works in: an opaque key chosen by the frontend (one per
    # user, say); the backend maps it to a folder of its own. None: the "default" workspace.
    workspace: str | None = None


def create_app(
    plugins_dir: Path,
    token: str,
    workspaces: Workspaces | None = None,
    hidden: Sequence[Path] = (),
    orphan_seconds: float | None = DEFAULT_ORPHAN_SECONDS,
) -> FastAPI:
    """The backend application for a plug-in folder, guarded by token.

    An engine that no bus client holds for orphan_seconds is stopped (None: never): the
    frontend that started it died, or stopped and none adopted the engine since.

    Workspaces default to the folder ``workspaces`` beside the plug-in folder. Sandboxed
    engines never see the plug-in folder, the workspaces' root, the environment folder, nor
    anything in hidden (the token file's folder, say).
    """
    expected = f"Bearer {token}".encode()
    plugins = PluginFolder(plugins_dir)
    if workspaces is None:
        workspaces = Workspaces(plugins_dir.parent / "workspaces")
    table = EngineTable(plugins, Cgroups(), workspaces, [default_home(), *hidden])
    plugins.on_change = table.refill

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await plugins.load()
        table.refill()
        chores = [asyncio.create_task(plugins.watch())]
        if orphan_seconds is not None:
            chores.append(asyncio.create_task(_stop_orphans(table, orphan_seconds)))
        try:
            yield
        finally:
            for chore in chores:
                chore.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chore
            await table.close()

    def is_authorized(connection: HTTPConnection) -> bool:
        # Constant-time comparison: the answer's timing tells nothing about the token.
        given = connection.headers.get("authorization", "").encode()
        return hmac.compare_digest(given, expected)

    def authorized(request: Request) -> None:
        if not is_authorized(request):
            raise Unauthorized(UNAUTHORIZED)

    app = FastAPI(
        title="Codenode backend",
        version=codenode.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind the token like everything else
        # What any route may answer: a body that is not even text, no token, no route for
        # the path (a slash in a path parameter), a value it does not take.
        responses=errors(400, 401, 404, 422),
    )
    app.state.table = table
    app.state.workspaces = workspaces
    router = APIRouter(dependencies=[Depends(authorized)])

    @app.exception_handler(BackendError)
    async def backend_error(request: Request, exc: BackendError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.status)

    answer_errors_as_json(app)

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Whether the backend answers, and how many engines it runs."""
        return {"status": "ok", "engines": len(table.engines), "version": codenode.__version__}

    @router.get("/engine-types")
    async def engine_types() -> dict[str, Any]:
        """Engine types from the plug-in files, and the files that are broken."""
        listing = plugins.listing()
        for shown in listing["types"]:
            template = table.templates.describe(shown["name"])
            if template is not None:
                shown["template"] = template
        return listing

    @router.get("/engines")
    async def list_engines() -> dict[str, Any]:
        """Running engines (and dead ones not yet stopped) with their state."""
        return {"engines": [engine.describe() for engine in table.engines.values()]}

    @router.post("/engines", status_code=201, responses=errors(503))
    async def start_engine(body: StartRequest) -> dict[str, Any]:
        """Start an engine of a type (from the pool when one is ready)."""
        engine = await table.start(body.type, body.workspace)
        return engine.describe()

    @router.get("/engines/{engine_id}")
    async def get_engine(engine_id: str) -> dict[str, Any]:
        """One engine."""
        return table.get(engine_id).describe()

    @router.delete("/engines/{engine_id}", status_code=204)
    async def stop_engine(engine_id: str) -> Response:
        """Stop an engine; its process is gone when this answers."""
        await table.stop(engine_id)
        return Response(status_code=204)

    @router.post("/engines/{engine_id}/interrupt", status_code=202)
    async def interrupt_engine(engine_id: str) -> dict[str, Any]:
        """Interrupt what the engine runs (SIGINT to its process group)."""
        engine = table.get(engine_id)
        engine.interrupt()
        return engine.describe()

    @router.post("/engines/{engine_id}/restart", responses=errors(503))
    async def restart_engine(engine_id: str) -> dict[str, Any]:
        """A fresh process with a fresh namespace, under the same id."""
        engine = table.get(engine_id)
        await engine.restart()
        return engine.describe()

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        """Prometheus text format: engines by state and type, starts, deaths, evaluations."""
        body, content_type = metrics.render(table)
        return PlainTextResponse(body, media_type=content_type)

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi() -> dict[str, Any]:
        """The OpenAPI description of this API."""
        spec: dict[str, Any] = app.openapi()
        return spec

    app.include_router(router)
    app.include_router(file_routes(), dependencies=[Depends(authorized)])
    describe_links(app, LINKS)

    @app.websocket("/engines/{engine_id}/bus")
    async def engine_bus(websocket: WebSocket, engine_id: str) -> None:
        """Evaluate / complete / introspect and their streamed replies, plus state events."""
        if not is_authorized(websocket):
            response = error_response("unauthorized", UNAUTHORIZED, 401)
            await websocket.send_denial_response(response)
            return
        engine = table.engines.get(engine_id)
        if engine is None:
            await websocket.close(code=4404, reason="no such engine")
            return
        await websocket.accept()
        await bus.serve(websocket, engine)

    return app


async def _stop_orphans(table: EngineTable, grace: float) -> None:
    """Look for engines no frontend holds, a few times per grace period."""
    while True:
        await asyncio.sleep(min(30.0, max(grace / 4, 0.1)))
        try:
            await table.stop_orphans(grace)
        except Exception:  # a failed stop is logged; the next round tries again
            log.exception("stopping engines no frontend holds")
