"""REST routes: a notebook's engine (state, interrupt, restart, stop), as on the bus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from codenode.frontend.access import Reader, Writer
from codenode.openapi import errors

router = APIRouter(tags=["engine"], responses=errors(401))


@router.get("/notebooks/{notebook_id}/engine")
async def engine_state(request: Request, notebook_id: str, access: Reader) -> dict[str, Any]:
    """The notebook's engine: state (none, starting, idle, busy, dead), reason, backend."""
    state: dict[str, Any] = await request.app.state.hub.engine_state(notebook_id)
    return state


async def _control(request: Request, notebook_id: str, op: str) -> dict[str, Any]:
    hub = request.app.state.hub
    session = hub.notebooks.get(notebook_id)
    if session is not None:
        await session.control(op)
    state: dict[str, Any] = await hub.engine_state(notebook_id)
    return state


@router.post("/notebooks/{notebook_id}/engine/interrupt")
async def interrupt(request: Request, notebook_id: str, access: Writer) -> dict[str, Any]:
    """Interrupt what the engine runs."""
    return await _control(request, notebook_id, "interrupt")


@router.post("/notebooks/{notebook_id}/engine/restart")
async def restart(request: Request, notebook_id: str, access: Writer) -> dict[str, Any]:
    """A fresh engine process (fresh namespace) for the notebook."""
    return await _control(request, notebook_id, "restart")


@router.post("/notebooks/{notebook_id}/engine/stop")
async def stop(request: Request, notebook_id: str, access: Writer) -> dict[str, Any]:
    """Stop the engine; the next evaluation starts a new one."""
    return await _control(request, notebook_id, "stop")
