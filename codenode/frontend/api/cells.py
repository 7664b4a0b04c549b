"""REST routes: a notebook's cells (insert, edit, move, delete), as the bus edits them.

Summaries number cells from 1, as people count them; positions in requests and answers
count from 0.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from codenode.frontend import events, notebooks
from codenode.frontend.access import Db, Writer
from codenode.frontend.api.changes import save
from codenode.frontend.bus.protocol import MAX_SOURCE
from codenode.frontend.db import Cell

router = APIRouter(tags=["cells"])


class NewCell(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int | None = Field(default=None, ge=0)
    """Where it goes (0 is first); left out or past the end: last."""
    kind: str = "code"
    source: str = Field("", max_length=MAX_SOURCE)
    """At most as long as the bus takes (``MAX_SOURCE`` characters)."""


class CellChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, max_length=MAX_SOURCE)
    kind: str | None = None


class CellMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = Field(ge=0)
    """Its new place (0 is first); past the end: last."""


def placed(cell: Cell) -> dict[str, Any]:
    """A cell as the cell routes answer it: with its position."""
    return {**notebooks.cell_dict(cell), "position": cell.position}


@router.post("/notebooks/{notebook_id}/cells", status_code=201)
async def insert_cell(
    request: Request, notebook_id: str, body: NewCell, access: Writer, db: Db
) -> dict[str, Any]:
    """A new cell; 400 for an unknown kind."""
    notebooks.check_kind(body.kind)
    await notebooks.lock(db, notebook_id)
    cell = await notebooks.insert_cell(db, notebook_id, body.position, body.kind, body.source)
    await save(request, db, access, f"inserted a {cell.kind} cell at {cell.position + 1}")
    await request.app.state.hub.notify(notebook_id, events.cell_inserted(cell))
    return placed(cell)


@router.patch("/notebooks/{notebook_id}/cells/{cell_id}")
async def update_cell(
    request: Request, notebook_id: str, cell_id: str, body: CellChange, access: Writer, db: Db
) -> dict[str, Any]:
    """Change a cell's source and/or kind; fields left out stay as they are."""
    if body.kind is not None:
        notebooks.check_kind(body.kind)
    await notebooks.lock(db, notebook_id)
    cell = await notebooks.get_cell(db, notebook_id, cell_id)
    said = []
    if body.kind is not None and body.kind != cell.kind:
        said.append(f"made cell {cell.position + 1} a {body.kind} cell")
    if body.source is not None and body.source != cell.source:
        said.append(f"edited cell {cell.position + 1}")
    if not said:
        return placed(cell)
    cell = await notebooks.update_cell(db, notebook_id, cell_id, body.source, body.kind)
    await save(request, db, access, "; ".join(said))
    await request.app.state.hub.notify(notebook_id, events.cell_updated(cell))
    return placed(cell)


@router.post("/notebooks/{notebook_id}/cells/{cell_id}/move")
async def move_cell(
    request: Request, notebook_id: str, cell_id: str, body: CellMove, access: Writer, db: Db
) -> dict[str, Any]:
    """Move a cell; the others close ranks."""
    await notebooks.lock(db, notebook_id)
    cell = await notebooks.get_cell(db, notebook_id, cell_id)
    old = cell.position
    cell = await notebooks.move_cell(db, notebook_id, cell_id, body.position)
    if cell.position == old:
        return placed(cell)
    await save(request, db, access, f"moved cell {old + 1} to {cell.position + 1}")
    await request.app.state.hub.notify(notebook_id, events.cell_moved(cell))
    return placed(cell)


@router.delete("/notebooks/{notebook_id}/cells/{cell_id}", status_code=204)
async def delete_cell(
    request: Request, notebook_id: str, cell_id: str, access: Writer, db: Db
) -> Response:
    """Remove a cell; the cells after it move up."""
    await notebooks.lock(db, notebook_id)
    cell = await notebooks.get_cell(db, notebook_id, cell_id)
    position = cell.position
    await notebooks.delete_cell(db, notebook_id, cell_id)
    await save(request, db, access, f"deleted cell {position + 1}")
    await request.app.state.hub.notify(notebook_id, events.cell_deleted(cell_id))
    return Response(status_code=204)
