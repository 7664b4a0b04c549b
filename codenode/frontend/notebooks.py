"""The notebook model at work: cells in order, their edits, snapshots and revisions.

Every change to a notebook goes through here, from the REST API and from the bus alike
(``codenode.frontend.edits`` for the edits of cells and titles), so the rules hold
everywhere: positions stay 0..n-1 without gaps, every change that alters the notebook is
recorded as a revision (edits by one author in a short window extend one revision rather than
making one per keystroke), and the search index follows.

A revision keeps what people write: the title, the engine type, and each cell's id, kind and
source, not its outputs (they are the engine's, stored with their cells, and can be megabytes:
copying them on every saved keystroke cost more than the edit). Restoring a revision
(``replace``) so gives its title and cells, and each cell still in the notebook keeps the
outputs it has now; a cell deleted since comes back without output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, selectinload

from codenode.frontend import search
from codenode.frontend.db import CELL_KINDS, Cell, Notebook, Revision
from codenode.frontend.errors import BadRequest, NotFound

HEADING_LEVELS = {"title": 1, "subtitle": 2, "section": 3, "subsection": 4}
"""Heading kinds and their depth: a heading folds the cells below it up to the next heading
of the same or a shallower depth."""

LOCATIONS = ("", "trash", "archive")
"""Where a notebook sits besides the owner's folders: the top of the bookshelf, the trash, the
archive."""

FOLDER_CHARS = 100


def check_location(location: str) -> str:
    """A location: one of ``LOCATIONS``, or a folder name (1-100 characters, no control
    characters, no "/", no spaces at either end)."""
    if location in LOCATIONS:
        return location
    if (
        len(location) > FOLDER_CHARS
        or location != location.strip()
        or "/" in location
        or any(not char.isprintable() for char in location)
    ):
        raise BadRequest(
            f"a folder name is 1-{FOLDER_CHARS} printable characters without '/' and without "
            "spaces at either end (or use '' for the top, 'trash' or 'archive')"
        )
    return location


# Rows being renumbered are parked this far up first: (notebook_id, position) is unique and
# checked row by row, so a one-statement shift would collide with itself.
_PARK = 1_000_000


def sections(cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What each heading folds, for cells in order (``cell_dict``s): one entry per heading cell,
    ``{"cell_id", "kind", "level", "position", "start", "end"}``, folding the cells at
    positions start..end-1 (start is the heading's position + 1; end the position of the next
    heading of the same or a shallower level, or the number of cells)."""
    found: list[dict[str, Any]] = []
    open_: list[dict[str, Any]] = []  # headings whose end is not yet known, shallowest first
    for position, cell in enumerate(cells):
        level = HEADING_LEVELS.get(cell["kind"])
        if level is None:
            continue
        while open_ and open_[-1]["level"] >= level:
            open_.pop()["end"] = position
        section = {
            "cell_id": cell["id"],
            "kind": cell["kind"],
            "level": level,
            "position": position,
            "start": position + 1,
            "end": len(cells),
        }
        found.append(section)
        open_.append(section)
    return found


def check_kind(kind: str) -> str:
    if kind not in CELL_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(CELL_KINDS)}, not {kind!r}")
    return kind


def cell_dict(cell: Cell) -> dict[str, Any]:
    return {
        "id": cell.id,
        "kind": cell.kind,
        "source": cell.source,
        "outputs": cell.outputs,
        "execution_count": cell.execution_count,
    }


def notebook_dict(notebook: Notebook, role: str | None = None) -> dict[str, Any]:
    """A notebook without its cells (as listed on the bookshelf)."""
    data: dict[str, Any] = {
        "id": notebook.id,
        "title": notebook.title,
        "owner_id": notebook.owner_id,
        "engine_type": notebook.engine_type,
        "created": notebook.created.isoformat(),
        "updated": notebook.updated.isoformat(),
        "location": notebook.location,
        "public_link": notebook.public_link,
    }
    if role is not None:
        data["role"] = role
    return data


async def load(db: AsyncSession, notebook_id: str) -> Notebook:
    """A notebook with its cells, in order."""
    notebook = (
        await db.execute(
            select(Notebook)
            .where(Notebook.id == notebook_id)
            .options(selectinload(Notebook.cells))
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if notebook is None:
        raise NotFound(f"no notebook {notebook_id!r}")
    return notebook


def snapshot(notebook: Notebook) -> dict[str, Any]:
    """The whole notebook as plain data, outputs included: what exports read.

    The notebook's cells must be loaded (``load``).
    """
    return {
        "title": notebook.title,
        "engine_type": notebook.engine_type,
        "cells": [cell_dict(cell) for cell in notebook.cells],
    }


def written(notebook: Notebook) -> dict[str, Any]:
    """What a revision keeps of a notebook (cells loaded): title, engine type, and each
    cell's id, kind and source; no outputs."""
    return {
        "title": notebook.title,
        "engine_type": notebook.engine_type,
        "cells": [{"id": c.id, "kind": c.kind, "source": c.source} for c in notebook.cells],
    }


async def read_written(db: AsyncSession, notebook_id: str) -> dict[str, Any]:
    """``written`` read from the database, without loading a single output."""
    head = (
        await db.execute(
            select(Notebook.title, Notebook.engine_type).where(Notebook.id == notebook_id)
        )
    ).first()
    if head is None:
        raise NotFound(f"no notebook {notebook_id!r}")
    rows = await db.execute(
        select(Cell.id, Cell.kind, Cell.source)
        .where(Cell.notebook_id == notebook_id)
        .order_by(Cell.position)
    )
    return {
        "title": head.title,
        "engine_type": head.engine_type,
        "cells": [{"id": id_, "kind": kind, "source": source} for id_, kind, source in rows],
    }


async def create(
    db: AsyncSession,
    owner_id: int,
    title: str,
    engine_type: str,
    cells: list[dict[str, Any]] | None = None,
    location: str = "",
    summary: str = "created",
) -> Notebook:
    """A new notebook with *cells* (dicts with kind, source, and optionally outputs and
    execution_count); committed, with its first revision (*summary*)."""
    notebook = Notebook(owner_id=owner_id, title=title, engine_type=engine_type, location=location)
    db.add(notebook)
    await db.flush()
    for position, given in enumerate(cells or []):
        db.add(
            Cell(
                notebook_id=notebook.id,
                position=position,
                kind=check_kind(given.get("kind", "code")),
                source=given.get("source", ""),
                outputs=list(given.get("outputs", [])),
                execution_count=given.get("execution_count"),
            )
        )
    await db.flush()
    notebook = await load(db, notebook.id)
    await changed(db, notebook, owner_id, summary, force_new=True)
    await db.commit()
    return notebook


async def lock(db: AsyncSession, notebook_id: str) -> None:
    """Hold the notebook until this transaction ends, so that its writers take turns and
    positions are never computed from a count another writer is changing (the REST routes and
    the bus may write at once, and several frontends on PostgreSQL). PostgreSQL: the notebook's
    row is locked. SQLite: a no-op write takes the database's one write lock (waiting up to
    busy_timeout for another writer) before anything is read. Taking it again is harmless."""
    if db.get_bind().dialect.name == "sqlite":
        # Plain SQL: the ORM would also apply the ``updated`` column's onupdate.
        await db.execute(
            text("UPDATE notebooks SET public_link = public_link WHERE id = :id"),
            {"id": notebook_id},
        )
    else:
        await db.execute(select(Notebook.id).where(Notebook.id == notebook_id).with_for_update())


async def _cell(db: AsyncSession, notebook_id: str, cell_id: str) -> Cell:
    cell = await db.get(Cell, cell_id)
    if cell is None or cell.notebook_id != notebook_id:
        raise NotFound(f"no cell {cell_id!r} in this notebook")
    return cell


async def get_cell(db: AsyncSession, notebook_id: str, cell_id: str) -> Cell:
    """A cell of the notebook; NotFound if the notebook has none by that id."""
    return await _cell(db, notebook_id, cell_id)


async def _count(db: AsyncSession, notebook_id: str) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(Cell).where(Cell.notebook_id == notebook_id)
        )
        or 0
    )


async def _shift(db: AsyncSession, notebook_id: str, start: int, end: int, delta: int) -> None:
    """Move the cells at positions start..end-1 by delta, in two collision-free steps."""
    if start >= end:
        return
    in_range = (Cell.notebook_id == notebook_id, Cell.position >= start, Cell.position < end)
    await db.execute(update(Cell).where(*in_range).values(position=Cell.position + _PARK))
    await db.execute(
        update(Cell)
        .where(Cell.notebook_id == notebook_id, Cell.position >= _PARK)
        .values(position=Cell.position - _PARK + delta)
    )


async def insert_cell(
    db: AsyncSession,
    notebook_id: str,
    position: int | None = None,
    kind: str = "code",
    source: str = "",
    cell_id: str | None = None,
) -> Cell:
    """A new cell at *position* (None or past the end: at the end). Not committed."""
    check_kind(kind)
    await lock(db, notebook_id)
    count = await _count(db, notebook_id)
    if position is None or position > count:
        position = count
    if position < 0:
        raise BadRequest("position must be 0 or more")
    await _shift(db, notebook_id, position, count, +1)
    cell = Cell(notebook_id=notebook_id, position=position, kind=kind, source=source, outputs=[])
    if cell_id is not None:
        if await db.get(Cell, cell_id) is not None:
            raise BadRequest(f"a cell {cell_id!r} exists already")
        cell.id = cell_id
    db.add(cell)
    await db.flush()
    return cell


async def update_cell(
    db: AsyncSession,
    notebook_id: str,
    cell_id: str,
    source: str | None = None,
    kind: str | None = None,
) -> Cell:
    """Change a cell's source and/or kind. Not committed."""
    cell = await _cell(db, notebook_id, cell_id)
    if source is not None:
        cell.source = source
    if kind is not None:
        cell.kind = check_kind(kind)
    await db.flush()
    return cell


async def move_cell(db: AsyncSession, notebook_id: str, cell_id: str, position: int) -> Cell:
    """Move a cell to *position* (clamped to the notebook); the others close ranks. Not
    committed."""
    await lock(db, notebook_id)
    cell = await _cell(db, notebook_id, cell_id)
    last = await _count(db, notebook_id) - 1
    target = max(0, min(position, last))
    old = cell.position
    if target == old:
        return cell
    cell.position = -1
    await db.flush()
    if target > old:
        await _shift(db, notebook_id, old + 1, target + 1, -1)
    else:
        await _shift(db, notebook_id, target, old, +1)
    cell.position = target
    await db.flush()
    return cell


async def delete_cell(db: AsyncSession, notebook_id: str, cell_id: str) -> None:
    """Remove a cell; the cells after it move up. Not committed."""
    await lock(db, notebook_id)
    cell = await _cell(db, notebook_id, cell_id)
    old = cell.position
    await db.delete(cell)
    await db.flush()
    await _shift(db, notebook_id, old + 1, _PARK, -1)


async def replace(db: AsyncSession, notebook: Notebook, data: dict[str, Any]) -> Notebook:
    """Give *notebook* (cells loaded) the title and cells of a revision (``written``): its
    cells are replaced by new rows, keeping the revision's cell ids. A cell still in the
    notebook keeps its outputs and execution count as they are now; one that is not comes
    back without (a revision keeps no outputs). Not committed; the notebook comes back loaded
    again."""
    now = {cell.id: (cell.outputs, cell.execution_count) for cell in notebook.cells}
    notebook.cells.clear()  # delete-orphan: the rows go at the flush
    await db.flush()
    notebook.title = str(data.get("title", notebook.title))
    for position, given in enumerate(data.get("cells", [])):
        outputs, count = now.get(given.get("id") or "", ([], None))
        cell = Cell(
            notebook_id=notebook.id,
            position=position,
            kind=check_kind(given.get("kind", "code")),
            source=given.get("source", ""),
            outputs=list(outputs),
            execution_count=count,
        )
        # An id now taken elsewhere (only a copied notebook could do that) gets a fresh one.
        if given.get("id") and await db.get(Cell, given["id"]) is None:
            cell.id = given["id"]
        db.add(cell)
    await db.flush()
    return await load(db, notebook.id)


async def set_outputs(
    db: AsyncSession,
    cell_id: str,
    outputs: list[dict[str, Any]],
    execution_count: int | None,
) -> None:
    """Store a cell's outputs (as they stand) and its execution count. Not committed."""
    await db.execute(
        update(Cell)
        .where(Cell.id == cell_id)
        .values(outputs=outputs, execution_count=execution_count)
    )


async def changed(
    db: AsyncSession,
    notebook: Notebook,
    author_id: int | None,
    summary: str,
    window: float = 60.0,
    force_new: bool = False,
) -> Revision:
    """Record that *notebook* changed, any part of it (its cells loaded): its search entries
    are brought in step (only what differs is rewritten) and the change is recorded
    (``record``). Not committed. An edit that knows what it changed calls ``record`` and
    re-indexes that alone (``codenode.frontend.edits``)."""
    await search.index(db, notebook)
    return await record(db, notebook.id, author_id, summary, window, force_new, written(notebook))


async def record(
    db: AsyncSession,
    notebook_id: str,
    author_id: int | None,
    summary: str,
    window: float = 60.0,
    force_new: bool = False,
    state: dict[str, Any] | None = None,
) -> Revision:
    """Record a change as a revision of the notebook as it stands now (*state*, from
    ``written``, or read here): a new revision, or the author's latest one extended if it is
    younger than *window* seconds. The notebook's ``updated`` time moves. Not committed."""
    now = datetime.now(UTC)
    await db.execute(update(Notebook).where(Notebook.id == notebook_id).values(updated=now))
    data = state if state is not None else await read_written(db, notebook_id)
    latest = None
    if not force_new:
        latest = (
            await db.execute(
                select(Revision)
                .where(Revision.notebook_id == notebook_id)
                .order_by(Revision.created.desc(), Revision.id.desc())
                .limit(1)
                .options(defer(Revision.snapshot))  # replaced, never read
            )
        ).scalar_one_or_none()
    since = now - timedelta(seconds=window)
    if (
        latest is not None
        and latest.author_id == author_id
        and _aware(latest.created) > since
        and not latest.summary.startswith("reverted")
    ):
        latest.snapshot = data
        if summary not in latest.summary:
            latest.summary = _join(latest.summary, summary)
        await db.flush()
        return latest
    revision = Revision(
        notebook_id=notebook_id, author_id=author_id, summary=summary, snapshot=data
    )
    db.add(revision)
    await db.flush()
    return revision


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _join(first: str, more: str) -> str:
    joined = f"{first}; {more}"
    return joined if len(joined) <= 200 else joined[:197] + "..."
