"""The backend's web application: the admin channel (HTTP + JSON) and the engine bus.

Every route, the WebSocket included, requires ``Authorization: Bearer <token>`` (``access``).
The routes are ``routes``' and ``fileroutes``'; this puts them together with the engine table
they serve (``app.state.table``) and its chores. The backend knows engine types and running
engines, never users or notebooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

import codenode
from codenode.backend import routes
from codenode.backend.access import Token, authorized
from codenode.backend.cgroups import Cgroups
from codenode.backend.errors import BackendError
from codenode.backend.fileroutes import file_routes
from codenode.backend.openapi import LINKS
from codenode.backend.plugins import PluginFolder
from codenode.backend.table import EngineTable
from codenode.backend.workspaces import Workspaces
from codenode.environment import default_home
from codenode.openapi import describe_links, errors
from codenode.web import answer_errors_as_json, error_response

log = logging.getLogger("codenode.backend")
DEFAULT_ORPHAN_SECONDS = 600.0  # an engine no frontend holds is stopped after this long


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
    app.state.token = Token(token)

    @app.exception_handler(BackendError)
    async def backend_error(request: Request, exc: BackendError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.status)

    answer_errors_as_json(app)

    app.include_router(routes.router, dependencies=[Depends(authorized)])
    app.include_router(file_routes(), dependencies=[Depends(authorized)])
    app.include_router(routes.bus_router)
    describe_links(app, LINKS)
    return app


async def _stop_orphans(table: EngineTable, grace: float) -> None:
    """Look for engines no frontend holds, a few times per grace period."""
    while True:
        await asyncio.sleep(min(30.0, max(grace / 4, 0.1)))
        try:
            await table.stop_orphans(grace)
        except Exception:  # a failed stop is logged; the next round tries again
            log.exception("stopping engines no frontend holds")
