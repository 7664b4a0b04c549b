"""The frontend's web application: the REST API under /api, the notebook bus, and the UI.

Routers live in ``codenode.frontend.api``, one module per subject; each route declares its
access level (``codenode.frontend.access``). State shared by the routes hangs on
``app.state``: the database sessions, the cookie signer, the backend registry and the hub of
open notebooks.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

import codenode
from codenode.frontend import access, guards
from codenode.frontend.api import backends, engine, files, interchange, notebooks, openapi, users
from codenode.frontend.backends.registry import BackendRegistry
from codenode.frontend.bus import routes as bus_routes
from codenode.frontend.bus.hub import Hub
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import create_engine, session_factory
from codenode.frontend.errors import FrontendError, TooManyAttempts
from codenode.frontend.ratelimit import LoginLimits
from codenode.frontend.sessions import SessionSigner
from codenode.frontend.ui import pages
from codenode.openapi import describe_links, errors
from codenode.web import answer_errors_as_json, error_response


@functools.cache
def api_router() -> APIRouter:
    """The REST API's routes under /api, gathered once a process: FastAPI analyses every
    route's parameters each time a router is included, and an app includes this one only."""
    api = APIRouter(prefix="/api", dependencies=[Depends(access.check_csrf)], responses=errors(403))
    for module in (users, notebooks, engine, interchange, files, backends):
        api.include_router(module.router)
    return api


def create_app(config: FrontendConfig) -> FastAPI:
    """The frontend application for *config*."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(config.database_url)
        app.state.sessions = session_factory(engine)
        app.state.registry = BackendRegistry(app.state.sessions, config.health_interval)
        app.state.hub = Hub(app.state.sessions, app.state.registry, config)
        await app.state.registry.start()
        await app.state.hub.start()
        try:
            yield
        finally:
            await app.state.hub.close()
            await app.state.registry.close()
            await engine.dispose()

    app = FastAPI(
        title="Codenode",
        version=codenode.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        # What any route may answer: the guards' refusals (an unknown Host, a bad or too
        # large body), no route for the path (a slash in a path parameter), a bad value.
        responses=errors(400, 404, 413, 422),
    )
    app.state.config = config
    app.state.signer = SessionSigner(config.secret, config.session_days * 86400)
    app.state.login_limits = LoginLimits(config.login_attempts, config.login_window_seconds)

    @app.exception_handler(FrontendError)
    async def frontend_error(request: Request, exc: FrontendError) -> JSONResponse:
        response = error_response(exc.code, exc.message, exc.status)
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(DBAPIError)
    async def text_the_database_refuses(request: Request, exc: DBAPIError) -> JSONResponse:
        # PostgreSQL stores no NUL character in text, nor in JSON; SQLite does. Said as
        # what it is, on every route, rather than a 500.
        if "0x00" in str(exc.orig) or "\\u0000" in str(exc.orig):
            return error_response(
                "bad_text", "text may not contain the NUL character (\\u0000)", 422
            )
        raise exc

    answer_errors_as_json(app)

    app.include_router(api_router())
    app.include_router(bus_routes.router)

    @app.get("/api/health", tags=["meta"])
    async def health(user: access.Anyone) -> dict[str, Any]:
        """Whether the frontend answers."""
        return {"status": "ok", "version": codenode.__version__}

    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    guards.install(app, config.allowed_hosts)
    describe_links(app, openapi.LINKS)

    return app
