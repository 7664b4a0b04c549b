"""REST routes: a notebook's cells (insert, edit, move, delete), applied as the bus applies
them (``codenode.frontend.edits``: the same locking, revision summaries and events).

Summaries number cells from 1, as people count them; positions in requests and answers
count from 0.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from codenode.frontend import edits, notebooks
from codenode.frontend.access import Db, NotebookAccess, Writer
from codenode.frontend.bus.protocol import MAX_SOURCE
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import Cell
from codenode.frontend.edits import Change, Editor

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


def editor(request: Request, access: NotebookAccess) -> Editor:
    """Who edits, as ``codenode.frontend.edits`` records them (the notebook routes' too)."""
    config: FrontendConfig = request.app.state.config
    author = access.user.id if access.user is not None else None
    return Editor(access.notebook.id, author, config.revision_window_seconds)


async def _tell(request: Request, notebook_id: str, change: Change) -> Cell | None:
    """The open tabs are told of the change if it was saved; the cell it touched."""
    if change.saved:
        await request.app.state.hub.notify(notebook_id, change.event)
    return change.cell


@router.post("/notebooks/{notebook_id}/cells", status_code=201)
async def insert_cell(
    request: Request, notebook_id: str, body: NewCell, access: Writer, db: Db
) -> dict[str, Any]:
    """A new cell; 400 for an unknown kind."""
    change = await edits.insert_cell(
        db, editor(request, access), body.position, body.kind, body.source
    )
    cell = await _tell(request, notebook_id, change)
    assert cell is not None
    return placed(cell)


@router.patch("/notebooks/{notebook_id}/cells/{cell_id}")
async def update_cell(
    request: Request, notebook_id: str, cell_id: str, body: CellChange, access: Writer, db: Db
) -> dict[str, Any]:
    """Change a cell's source and/or kind; fields left out stay as they are."""
    change = await edits.update_cell(db, editor(request, access), cell_id, body.source, body.kind)
    cell = await _tell(request, notebook_id, change)
    assert cell is not None
    return placed(cell)


@router.post("/notebooks/{notebook_id}/cells/{cell_id}/move")
async def move_cell(
    request: Request, notebook_id: str, cell_id: str, body: CellMove, access: Writer, db: Db
) -> dict[str, Any]:
    """Move a cell; the others close ranks."""
    change = await edits.move_cell(db, editor(request, access), cell_id, body.position)
    cell = await _tell(request, notebook_id, change)
    assert cell is not None
    return placed(cell)


@router.delete("/notebooks/{notebook_id}/cells/{cell_id}", status_code=204)
async def delete_cell(
    request: Request, notebook_id: str, cell_id: str, access: Writer, db: Db
) -> Response:
    """Remove a cell; the cells after it move up."""
    change = await edits.delete_cell(db, editor(request, access), cell_id)
    await _tell(request, notebook_id, change)
    return Response(status_code=204)
