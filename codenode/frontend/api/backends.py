"""REST routes: the engine types on offer (anyone signed in), and backends with their engines
(admins). A backend's token goes in and never comes out."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from codenode.frontend.access import Admin, Db, SignedIn
from codenode.frontend.backends import registration
from codenode.frontend.backends.registry import BackendRegistry
from codenode.openapi import errors

router = APIRouter(tags=["backends"], responses=errors(401, 503))


class NewBackend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    url: str = Field(max_length=registration.MAX_URL)
    token: str = Field(max_length=registration.MAX_TOKEN)


def registry_of(request: Request) -> BackendRegistry:
    registry: BackendRegistry = request.app.state.registry
    return registry


def engine_dict(engine: dict[str, Any], now: float) -> dict[str, Any]:
    """An engine as a backend lists it, with its age in seconds."""
    started = engine.get("started")
    shown = {
        key: engine.get(key)
        for key in ("id", "type", "state", "rss_bytes", "started", "last_activity")
    }
    shown["age"] = round(max(0.0, now - started), 1) if isinstance(started, int | float) else None
    if "exit" in engine:
        shown["exit"] = engine["exit"]
    return shown


@router.get("/engine-types")
async def engine_types(request: Request, user: SignedIn) -> dict[str, Any]:
    """The engine types a new notebook may have: those some healthy backend offers."""
    return {"types": registry_of(request).engine_types()}


@router.get("/backends")
async def list_backends(request: Request, user: Admin) -> dict[str, Any]:
    """Every registered backend: health and why not, engines, engine types; never its token."""
    return {"backends": registry_of(request).status()}


@router.post("/backends", status_code=201, responses=errors(409))
async def add_backend(body: NewBackend, request: Request, db: Db, user: Admin) -> dict[str, Any]:
    """Register a backend, check it at once, and answer with what the check found."""
    backend = await registration.register(db, body.name, body.url, body.token)
    registry = registry_of(request)
    await registry.refresh()
    return registry.named(backend.name).describe()


@router.delete("/backends/{name}", status_code=204)
async def remove_backend(name: str, request: Request, db: Db, user: Admin) -> Response:
    """Forget a backend. Its running engines are not stopped: their notebooks keep them."""
    await registration.unregister(db, name)
    await registry_of(request).refresh()
    return Response(status_code=204)


@router.get("/backends/{name}/engines")
async def backend_engines(name: str, request: Request, user: Admin) -> dict[str, Any]:
    """The engines running on a backend, with their state, memory and age."""
    engines = await registry_of(request).engines(name)
    now = time.time()
    return {"engines": [engine_dict(engine, now) for engine in engines]}


@router.delete("/backends/{name}/engines/{engine_id}", status_code=204)
async def stop_engine(name: str, engine_id: str, request: Request, user: Admin) -> Response:
    """Stop an engine; its notebook gets a fresh one on its next evaluation."""
    registry = registry_of(request)
    await registry.stop_engine(registry.placement(name, engine_id), missing_ok=False)
    return Response(status_code=204)


@router.post("/backends/{name}/engines/{engine_id}/interrupt", status_code=202)
async def interrupt_engine(
    name: str, engine_id: str, request: Request, user: Admin
) -> dict[str, Any]:
    """Interrupt what an engine runs."""
    registry = registry_of(request)
    await registry.interrupt(registry.placement(name, engine_id))
    return {"interrupted": engine_id}
