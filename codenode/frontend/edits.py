"""Edits of a notebook's cells, title and engine type: one code path for the REST routes and
the bus.

Each edit takes the notebook's lock (``notebooks.lock``: its writers take turns, on one
frontend or several), applies the change, re-indexes for search only what it changed (the
cell, or the title), records a revision whose summary counts cells from 1 as people do
("edited cell 3", "inserted a markdown cell at 2", "moved cell 1 to 4"), and commits. It
answers a ``Change``: the event every open tab is told (``codenode.frontend.events``), and
the summary. An edit that changes nothing (the same source, a move to where the cell is)
records nothing and tells no one: its ``summary`` is None, and only the tab that asked, on the
bus, gets the event as its answer.

REST routes call the function of each edit (``update_cell``...), then ``Hub.notify``; the bus
hands a tab's message to ``apply`` (the engine type is REST's alone: the bus has no op for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend import events, notebooks, search
from codenode.frontend.db import Cell, Notebook
from codenode.frontend.errors import BadRequest, NotFound

TITLE_CHARS = 500
"""A title is at most this long (longer ones are cut)."""


@dataclass(frozen=True)
class Editor:
    """Who edits which notebook, and how long their revision stays open to more edits."""

    notebook_id: str
    author_id: int | None
    window: float = 60.0  # seconds: revision_window_seconds


@dataclass(frozen=True)
class Change:
    """What an edit did: the event for the open tabs, and the revision's words (None: the
    edit changed nothing, and nothing was recorded)."""

    event: events.Event
    summary: str | None
    cell: Cell | None = None  # the cell inserted, edited or moved

    @property
    def saved(self) -> bool:
        """Whether the edit changed the notebook (and was recorded)."""
        return self.summary is not None


def quoted(title: str) -> str:
    """A title as a summary quotes it: at most 80 characters."""
    return repr(title if len(title) <= 80 else title[:77] + "...")


async def insert_cell(
    db: AsyncSession,
    editor: Editor,
    position: int | None = None,
    kind: str = "code",
    source: str = "",
    cell_id: str | None = None,
) -> Change:
    """A new cell at *position* (left out, or past the end: last)."""
    notebooks.check_kind(kind)
    await notebooks.lock(db, editor.notebook_id)
    cell = await notebooks.insert_cell(db, editor.notebook_id, position, kind, source, cell_id)
    await search.index_cell(db, editor.notebook_id, cell.id, cell.source)
    summary = f"inserted a {cell.kind} cell at {cell.position + 1}"
    return await _record(db, editor, Change(events.cell_inserted(cell), summary, cell))


async def update_cell(
    db: AsyncSession,
    editor: Editor,
    cell_id: str,
    source: str | None = None,
    kind: str | None = None,
) -> Change:
    """A cell's new source and/or kind (None: as it is)."""
    if kind is not None:
        notebooks.check_kind(kind)
    await notebooks.lock(db, editor.notebook_id)
    cell = await notebooks.get_cell(db, editor.notebook_id, cell_id)
    said = []
    if kind is not None and kind != cell.kind:
        said.append(f"made cell {cell.position + 1} a {kind} cell")
    edited = source is not None and source != cell.source
    if edited:
        said.append(f"edited cell {cell.position + 1}")
    if not said:
        return Change(events.cell_updated(cell), None, cell)
    cell = await notebooks.update_cell(db, editor.notebook_id, cell_id, source, kind)
    if edited:
        await search.index_cell(db, editor.notebook_id, cell.id, cell.source)
    return await _record(db, editor, Change(events.cell_updated(cell), "; ".join(said), cell))


async def move_cell(db: AsyncSession, editor: Editor, cell_id: str, position: int) -> Change:
    """A cell moved to *position* (clamped to the notebook); the others close ranks. Search
    has nothing to do: it does not know the order."""
    await notebooks.lock(db, editor.notebook_id)
    old = (await notebooks.get_cell(db, editor.notebook_id, cell_id)).position
    cell = await notebooks.move_cell(db, editor.notebook_id, cell_id, position)
    change = Change(events.cell_moved(cell), None, cell)
    if cell.position == old:
        return change
    summary = f"moved cell {old + 1} to {cell.position + 1}"
    return await _record(db, editor, Change(change.event, summary, cell))


async def delete_cell(db: AsyncSession, editor: Editor, cell_id: str) -> Change:
    """A cell removed; the cells after it move up. Its search entry goes with it (the
    database's cascade)."""
    await notebooks.lock(db, editor.notebook_id)
    position = (await notebooks.get_cell(db, editor.notebook_id, cell_id)).position
    await notebooks.delete_cell(db, editor.notebook_id, cell_id)
    change = Change(events.cell_deleted(cell_id), f"deleted cell {position + 1}")
    return await _record(db, editor, change)


async def rename(db: AsyncSession, editor: Editor, title: str) -> Change:
    """The notebook's new title (cut to ``TITLE_CHARS``)."""
    return await change_notebook(db, editor, title=title)


async def change_notebook(
    db: AsyncSession, editor: Editor, title: str | None = None, engine_type: str | None = None
) -> Change:
    """The notebook's new title (cut to ``TITLE_CHARS``) and/or engine type (a name the
    caller checked: ``api.params``), recorded as one revision (None: as it is). Search
    re-indexes the title; it does not know engine types."""
    notebook = await _locked(db, editor.notebook_id)
    said = []
    renamed = title is not None and title[:TITLE_CHARS] != notebook.title
    if title is not None and renamed:
        notebook.title = title[:TITLE_CHARS]
        said.append(f"renamed to {quoted(notebook.title)}")
    if engine_type is not None and engine_type != notebook.engine_type:
        notebook.engine_type = engine_type
        said.append(f"engine type set to {quoted(engine_type)}")
    if not said:
        return Change(events.notebook_updated(notebook), None)
    await db.flush()
    if renamed:
        await search.index_title(db, notebook.id, notebook.title)
    return await _record(db, editor, Change(events.notebook_updated(notebook), "; ".join(said)))


async def apply(db: AsyncSession, editor: Editor, op: str, fields: dict[str, Any]) -> Change:
    """A tab's edit on the bus (its message checked by ``bus.protocol``)."""
    if op == "insert_cell":
        return await insert_cell(
            db,
            editor,
            fields.get("position"),
            fields.get("kind") or "code",
            fields.get("source") or "",
            fields.get("cell_id"),
        )
    if op == "update_cell":
        return await update_cell(
            db, editor, fields["cell_id"], fields.get("source"), fields.get("kind")
        )
    if op == "move_cell":
        return await move_cell(db, editor, fields["cell_id"], fields["position"])
    if op == "delete_cell":
        return await delete_cell(db, editor, fields["cell_id"])
    if op == "rename":
        return await rename(db, editor, fields["title"])
    raise BadRequest(f"{op!r} is no edit")


async def _locked(db: AsyncSession, notebook_id: str) -> Notebook:
    """The notebook, locked for this edit and read as it now is."""
    await notebooks.lock(db, notebook_id)
    notebook = await db.get(Notebook, notebook_id, populate_existing=True)
    if notebook is None:
        raise NotFound(f"no notebook {notebook_id!r}")
    return notebook


async def _record(db: AsyncSession, editor: Editor, change: Change) -> Change:
    """Record the change as a revision (of the notebook as it now stands), and commit."""
    assert change.summary is not None
    await notebooks.record(db, editor.notebook_id, editor.author_id, change.summary, editor.window)
    await db.commit()
    return change
