"""REST routes: notebooks on the bookshelf (list, folders, create, read, rename, move, delete).

Cells, sharing, revisions and search have their own modules; their routes are gathered here,
so that the app includes one notebooks router.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.sql.elements import ColumnElement

from codenode.frontend import edits, events, notebooks
from codenode.frontend.access import Db, Owner, Reader, SignedIn, Writer
from codenode.frontend.api import cells, revisions, search, sharing
from codenode.frontend.api.changes import set_quietly, whole
from codenode.frontend.api.params import EngineTypeName
from codenode.frontend.db import Notebook, Share, User
from codenode.openapi import errors

# The routes of cells, sharing, revisions and search, gathered here, declare these too.
router = APIRouter(tags=["notebooks"], responses=errors(401))

TITLE_CHARS = 500

Sort = Literal["title", "engine_type", "created", "updated"]
Order = Literal["asc", "desc"]

_SORTS: dict[str, Any] = {
    "title": func.lower(Notebook.title),
    "engine_type": Notebook.engine_type,
    "created": Notebook.created,
    "updated": Notebook.updated,
}


class NewNotebook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=TITLE_CHARS)
    engine_type: EngineTypeName
    location: str = Field("", max_length=notebooks.FOLDER_CHARS)


class NotebookChange(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=TITLE_CHARS)
    engine_type: EngineTypeName | None = None


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location: str = Field(max_length=notebooks.FOLDER_CHARS)


def _ordered(sort: Sort, order: Order) -> list[ColumnElement[Any]]:
    column = _SORTS[sort]
    first = column.asc() if order == "asc" else column.desc()
    return [first, Notebook.id.asc()]  # the id settles ties: a stable order for the UI


@router.get("/notebooks")
async def own_notebooks(
    user: SignedIn,
    db: Db,
    location: str = Query("", max_length=200),
    sort: Sort = "updated",
    order: Order = "desc",
) -> dict[str, Any]:
    """The user's notebooks in one place: a folder, ``""`` (the top), ``trash`` or
    ``archive``."""
    found = await db.scalars(
        select(Notebook)
        .where(Notebook.owner_id == user.id, Notebook.location == location)
        .order_by(*_ordered(sort, order))
    )
    return {"notebooks": [notebooks.notebook_dict(n, "owner") for n in found]}


@router.get("/notebooks/shared")
async def shared_notebooks(
    user: SignedIn, db: Db, sort: Sort = "updated", order: Order = "desc"
) -> dict[str, Any]:
    """Notebooks others share with the user (not those in their owner's trash), with the
    user's role and the owner's name."""
    rows = await db.execute(
        select(Notebook, Share.role, User.username)
        .join(Share, Share.notebook_id == Notebook.id)
        .join(User, User.id == Notebook.owner_id)
        .where(Share.user_id == user.id, Notebook.location != "trash")
        .order_by(*_ordered(sort, order))
    )
    return {
        "notebooks": [
            {**notebooks.notebook_dict(notebook, role), "owner": owner}
            for notebook, role, owner in rows
        ]
    }


@router.get("/folders")
async def folders(user: SignedIn, db: Db) -> dict[str, Any]:
    """The user's folders (those holding a notebook) with their notebook counts, and how many
    notebooks are at the top, in the trash and in the archive."""
    rows = await db.execute(
        select(Notebook.location, func.count())
        .where(Notebook.owner_id == user.id)
        .group_by(Notebook.location)
    )
    counts: dict[str, int] = {location: count for location, count in rows}
    return {
        "top": counts.pop("", 0),
        "trash": counts.pop("trash", 0),
        "archive": counts.pop("archive", 0),
        "folders": [{"name": name, "count": counts[name]} for name in sorted(counts)],
    }


@router.post("/notebooks", status_code=201)
async def create_notebook(user: SignedIn, db: Db, body: NewNotebook) -> dict[str, Any]:
    """A new notebook of the user's, with one empty code cell."""
    location = notebooks.check_location(body.location)
    notebook = await notebooks.create(
        db, user.id, body.title, body.engine_type, [{"kind": "code"}], location
    )
    return await whole(db, notebook.id, "owner")


@router.get("/notebooks/{notebook_id}")
async def read_notebook(notebook_id: str, access: Reader, db: Db) -> dict[str, Any]:
    """The notebook with its cells, the asker's role and the heading sections."""
    return await whole(db, notebook_id, access.role)


@router.patch("/notebooks/{notebook_id}")
async def change_notebook(
    request: Request, notebook_id: str, body: NotebookChange, access: Writer, db: Db
) -> dict[str, Any]:
    """Rename the notebook and/or change its engine type (one revision for both)."""
    change = await edits.change_notebook(
        db, cells.editor(request, access), body.title, body.engine_type
    )
    if change.saved:
        await request.app.state.hub.notify(notebook_id, change.event)
    return {**change.event["notebook"], "role": access.role}


@router.put("/notebooks/{notebook_id}/location")
async def move_notebook(
    request: Request, notebook_id: str, body: Location, access: Owner, db: Db
) -> dict[str, Any]:
    """Put the notebook in a folder, at the top (``""``), in the ``trash`` or the
    ``archive``. Where a notebook sits is not part of it: no revision is recorded."""
    await set_quietly(db, access.notebook, location=notebooks.check_location(body.location))
    await request.app.state.hub.notify(notebook_id, events.notebook_updated(access.notebook))
    return notebooks.notebook_dict(access.notebook, access.role)


@router.delete("/notebooks/{notebook_id}", status_code=204)
async def delete_notebook(request: Request, notebook_id: str, access: Owner, db: Db) -> Response:
    """Delete the notebook for good, with its cells, shares, revisions and search entry."""
    await request.app.state.hub.forget(notebook_id)
    # The database cascades to cells, shares, revisions and the search entry.
    await db.execute(delete(Notebook).where(Notebook.id == notebook_id))
    await db.commit()
    return Response(status_code=204)


for module in (cells, sharing, revisions, search):
    router.include_router(module.router)
