"""What the notebook routes share: the whole notebook as readers get it, and saving a change.

A route that changes a notebook's content does so through ``codenode.frontend.notebooks``
(after ``notebooks.lock``), then ``save``s it: recorded as a revision, committed. It tells the
open tabs itself, once this has committed.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend import notebooks
from codenode.frontend.access import NotebookAccess
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import Notebook, User


async def save(
    request: Request,
    db: AsyncSession,
    access: NotebookAccess,
    summary: str,
    force_new: bool = False,
) -> Notebook:
    """Record the change as a revision (*summary*, one line), commit; the notebook, loaded."""
    config: FrontendConfig = request.app.state.config
    notebook = await notebooks.load(db, access.notebook.id)
    await notebooks.changed(
        db,
        notebook,
        access.user.id if access.user is not None else None,
        summary,
        window=config.revision_window_seconds,
        force_new=force_new,
    )
    await db.commit()
    return notebook


async def set_quietly(db: AsyncSession, notebook: Notebook, **values: Any) -> None:
    """Change where a notebook sits or who may read it, and commit. Neither is part of the
    notebook: no revision, and its ``updated`` time stays."""
    await db.execute(
        update(Notebook)
        .where(Notebook.id == notebook.id)
        .values(updated=Notebook.updated, **values)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    await db.refresh(notebook)


async def whole(db: AsyncSession, notebook_id: str, role: str) -> dict[str, Any]:
    """A notebook as its readers get it: with its owner's name, role, cells and sections."""
    notebook = await notebooks.load(db, notebook_id)
    owner = await db.get(User, notebook.owner_id)
    cell_list = [notebooks.cell_dict(cell) for cell in notebook.cells]
    return {
        **notebooks.notebook_dict(notebook, role),
        "owner": owner.username if owner is not None else None,
        "cells": cell_list,
        "sections": notebooks.sections(cell_list),
    }
