"""REST routes: a notebook's revisions (list, view one, revert to one).

Every change is recorded by ``notebooks.record``: edits by one author within the revision
window (``revision_window_seconds``) extend that author's latest revision, so a revision is a
stretch of work, not a keystroke. A revision keeps the title, the engine type and the cells'
ids, kinds and sources, not their outputs (``notebooks.written``); reverting to one keeps the
outputs each cell has now.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend import notebooks
from codenode.frontend.access import Db, Reader, Writer
from codenode.frontend.api.changes import save, whole
from codenode.frontend.api.params import Offset, RowId
from codenode.frontend.db import Revision, User
from codenode.frontend.errors import NotFound

router = APIRouter(tags=["revisions"])


def _listed(revision: Revision, author: str | None) -> dict[str, Any]:
    return {
        "id": revision.id,
        "created": revision.created.isoformat(),
        "author": author,
        "summary": revision.summary,
    }


async def _revision(db: AsyncSession, notebook_id: str, revision_id: int) -> Revision:
    revision = await db.get(Revision, revision_id)
    if revision is None or revision.notebook_id != notebook_id:
        raise NotFound(f"no revision {revision_id} of this notebook")
    return revision


@router.get("/notebooks/{notebook_id}/revisions")
async def revisions(
    notebook_id: str,
    access: Reader,
    db: Db,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    """The notebook's revisions, newest first: id, created, author's name (None once their
    account is gone), one-line summary."""
    rows = await db.execute(
        select(Revision, User.username)
        .outerjoin(User, User.id == Revision.author_id)
        .where(Revision.notebook_id == notebook_id)
        .order_by(Revision.created.desc(), Revision.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return {"revisions": [_listed(revision, author) for revision, author in rows]}


@router.get("/notebooks/{notebook_id}/revisions/{revision_id}")
async def revision(notebook_id: str, revision_id: RowId, access: Reader, db: Db) -> dict[str, Any]:
    """One revision, with the notebook as it was (``snapshot``: title, engine type, cells).
    A revision keeps no outputs: each cell's ``outputs`` is empty and its
    ``execution_count`` null (the fields stay, for readers that show them)."""
    found = await _revision(db, notebook_id, revision_id)
    author = await db.get(User, found.author_id) if found.author_id is not None else None
    return {
        **_listed(found, author.username if author else None),
        "snapshot": _shown(found.snapshot),
    }


def _shown(snapshot: dict[str, Any]) -> dict[str, Any]:
    cells = [
        {
            "id": cell.get("id"),
            "kind": cell.get("kind", "code"),
            "source": cell.get("source", ""),
            "outputs": [],
            "execution_count": None,
        }
        for cell in snapshot.get("cells", [])
    ]
    return {**snapshot, "cells": cells}


@router.post("/notebooks/{notebook_id}/revisions/{revision_id}/revert")
async def revert(
    request: Request, notebook_id: str, revision_id: RowId, access: Writer, db: Db
) -> dict[str, Any]:
    """Give the notebook the title and cells it had at the revision (the cells keep their
    ids; a cell still in the notebook keeps its current outputs, one deleted since comes back
    without); recorded as a new revision. Every open tab gets the whole notebook again."""
    await notebooks.lock(db, notebook_id)
    found = await _revision(db, notebook_id, revision_id)
    await notebooks.replace(db, await notebooks.load(db, notebook_id), found.snapshot)
    await save(request, db, access, f"reverted to revision {revision_id}", force_new=True)
    await request.app.state.hub.replaced(notebook_id)
    return await whole(db, notebook_id, access.role)
