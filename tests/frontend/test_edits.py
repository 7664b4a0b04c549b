"""Edits: one code path for REST and the bus (same summaries, same events), revisions that
keep sources and no outputs, and search re-indexing only what an edit changed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from alembic import command
from sqlalchemy import Text, cast, event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from codenode.frontend import edits, notebooks, search
from codenode.frontend.db import Revision, User, create_engine, session_factory, upgrade
from codenode.frontend.db.database import alembic_config
from tests.frontend.live import Client, LiveFrontend, receive_until

# --- the same edit through REST and through the bus ------------------------------------------

CELL_EVENTS = ("cell_inserted", "cell_updated", "cell_moved", "cell_deleted")


def through_rest(client: Client, notebook_id: str, cells: list[str]) -> None:
    base = f"/api/notebooks/{notebook_id}/cells"
    first, second, _, last = cells
    client.ok("PATCH", f"{base}/{first}", json={"source": "a2"})
    client.ok("PATCH", f"{base}/{second}", json={"kind": "markdown"})
    client.ok("POST", base, 201, json={"position": 1, "kind": "code", "source": "new"})
    client.ok("POST", f"{base}/{first}/move", json={"position": 2})
    client.ok("DELETE", f"{base}/{last}", 204)
    client.ok("PATCH", f"/api/notebooks/{notebook_id}", json={"title": "Renamed"})


def through_the_bus(client: Client, notebook_id: str, cells: list[str]) -> None:
    first, second, _, last = cells
    with client.bus(notebook_id) as editor:
        receive_until(editor, lambda m: m["type"] == "notebook")
        for number, message in enumerate(
            [
                {"op": "update_cell", "cell_id": first, "source": "a2"},
                {"op": "update_cell", "cell_id": second, "kind": "markdown"},
                {"op": "insert_cell", "position": 1, "kind": "code", "source": "new"},
                {"op": "move_cell", "cell_id": first, "position": 2},
                {"op": "delete_cell", "cell_id": last},
                {"op": "rename", "title": "Renamed"},
            ]
        ):
            editor.send(json.dumps({**message, "id": number}))
            receive_until(editor, lambda m, n=number: m.get("id") == n)


def watched(frontend: LiveFrontend, how: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The events a watching tab gets of the edits made *how*, cell ids named by their place,
    and the notebook's revision summaries."""
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"], cells=["a", "b", "c", "d"])  # type: ignore[index]
    names = {cell_id: f"cell {number}" for number, cell_id in enumerate(notebook["cells"])}
    with owner.bus(notebook["id"]) as watcher:
        receive_until(watcher, lambda m: m["type"] == "notebook")
        how(owner, notebook["id"], notebook["cells"])
        seen = receive_until(watcher, lambda m: m["type"] == "notebook_updated")
    told = []
    for message in seen:
        if message["type"] not in CELL_EVENTS:
            continue
        shown = json.dumps({k: v for k, v in message.items() if k not in ("origin", "id")})
        for cell_id, name in names.items():
            shown = shown.replace(cell_id, name)
        if message["type"] == "cell_inserted":
            shown = shown.replace(message["cell"]["id"], "the new cell")
        told.append(json.loads(shown))
    revisions = owner.ok("GET", f"/api/notebooks/{notebook['id']}/revisions")["revisions"]
    return told, [revision["summary"] for revision in revisions]


def test_rest_and_the_bus_edit_alike(frontend: LiveFrontend) -> None:
    by_rest = watched(frontend, through_rest)
    by_bus = watched(frontend, through_the_bus)
    assert by_rest == by_bus
    told, summaries = by_bus
    assert summaries == [
        "created; edited cell 1; made cell 2 a markdown cell; inserted a code cell at 2; "
        "moved cell 1 to 3; deleted cell 5; renamed to 'Renamed'"
    ]
    assert [m["type"] for m in told] == [
        "cell_updated",
        "cell_updated",
        "cell_inserted",
        "cell_moved",
        "cell_deleted",
    ]
    assert told[2] == {
        "type": "cell_inserted",
        "cell": {
            "id": "the new cell",
            "kind": "code",
            "source": "new",
            "outputs": [],
            "execution_count": None,
        },
        "position": 1,
    }


def test_an_edit_that_changes_nothing_answers_the_tab_alone(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    notebook = frontend.notebook(owner.user["username"], cells=["same"])  # type: ignore[index]
    cell, base = notebook["cells"][0], f"/api/notebooks/{notebook['id']}"
    with owner.bus(notebook["id"]) as editor, owner.bus(notebook["id"]) as watcher:
        receive_until(editor, lambda m: m["type"] == "notebook")
        receive_until(watcher, lambda m: m["type"] == "notebook")
        assert owner.ok("PATCH", f"{base}/cells/{cell}", json={"source": "same"})["source"]
        editor.send(json.dumps({"id": 4, "op": "update_cell", "cell_id": cell, "source": "same"}))
        editor.send(json.dumps({"id": 5, "op": "move_cell", "cell_id": cell, "position": 0}))
        answers = receive_until(editor, lambda m: m.get("id") == 5)
        assert [(m["type"], m["id"]) for m in answers] == [("cell_updated", 4), ("cell_moved", 5)]
        watcher.send(json.dumps({"id": 9, "op": "ping"}))
        assert json.loads(watcher.recv(timeout=10)) == {"type": "pong", "id": 9}
    summaries = [r["summary"] for r in owner.ok("GET", f"{base}/revisions")["revisions"]]
    assert summaries == ["created"]


# --- revisions and search, in process on each database --------------------------------------

OUTPUT = "an output the revisions must not copy\n" * 100


@asynccontextmanager
async def database(url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncSession]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            yield engine, db
    finally:
        await engine.dispose()


@contextmanager
def search_writes(engine: AsyncEngine) -> Iterator[list[int]]:
    """The rows of ``search_documents`` each statement in the block wrote (inserted, updated
    or deleted), one number per statement that wrote any."""
    written: list[int] = []

    def count(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        writes = verb in ("INSERT", "UPDATE", "DELETE") and "search_documents" in statement
        if writes and cursor.rowcount and cursor.rowcount > 0:
            written.append(cursor.rowcount)

    event.listen(engine.sync_engine, "after_cursor_execute", count)
    try:
        yield written
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", count)


async def _big_notebook(db: AsyncSession) -> tuple[User, Any]:
    ada = User(username="ada", password_hash="$argon2id$not-a-real-hash")
    db.add(ada)
    await db.commit()
    output = {"type": "stream", "name": "stdout", "text": OUTPUT}
    cells = [{"source": f"cell_{n} = {n}", "outputs": [output]} for n in range(5)]
    return ada, await notebooks.create(db, ada.id, "Big", "python", cells)


async def _edits_and_their_costs(url: str) -> dict[str, Any]:
    async with database(url) as (engine, db):
        ada, notebook = await _big_notebook(db)
        editor = edits.Editor(notebook.id, ada.id)
        first, second = notebook.cells[0].id, notebook.cells[1].id
        costs = {}
        with search_writes(engine) as written:
            await edits.update_cell(db, editor, first, source="renamed_variable = 0")
        costs["edit"] = written
        with search_writes(engine) as written:
            await edits.update_cell(db, editor, first, kind="markdown")
        costs["kind"] = written
        with search_writes(engine) as written:
            await edits.move_cell(db, editor, first, 3)
        costs["move"] = written
        with search_writes(engine) as written:
            await edits.rename(db, editor, "Bigger")
        costs["rename"] = written
        with search_writes(engine) as written:
            inserted = await edits.insert_cell(db, editor, 0, "code", "fresh_word")
        costs["insert"] = written
        with search_writes(engine) as written:
            await edits.delete_cell(db, editor, second)
        costs["delete"] = written
        assert inserted.cell is not None
        costs["found"] = [
            [hit.title for hit in await search.find(db, ada.id, word)]
            for word in ("renamed_variable", "fresh_word", "cell_1", "bigger", "cell_2 bigger")
        ]
        [revision] = (
            await db.scalars(select(Revision).where(Revision.notebook_id == notebook.id))
        ).all()
        costs["summary"] = revision.summary
        costs["snapshot"] = revision.snapshot
        costs["stored"] = await db.scalar(
            select(cast(Revision.snapshot, Text)).where(Revision.id == revision.id)
        )
        return costs


def test_an_edit_re_indexes_what_it_changed_and_revisions_keep_no_outputs(
    database_url: str,
) -> None:
    costs = asyncio.run(_edits_and_their_costs(database_url))
    assert costs["edit"] == [1]  # the edited cell's row, of five
    assert costs["kind"] == []  # search does not know kinds
    assert costs["move"] == []  # nor the order
    assert costs["rename"] == [1]  # the title's row
    assert costs["insert"] == [1]
    assert costs["delete"] == []  # the database's cascade takes the row
    assert costs["found"] == [["Bigger"], ["Bigger"], [], ["Bigger"], ["Bigger"]]
    assert costs["summary"] == (
        "created; edited cell 1; made cell 1 a markdown cell; moved cell 1 to 4; "
        "renamed to 'Bigger'; inserted a code cell at 1; deleted cell 2"
    )
    assert "an output" not in costs["stored"]
    snapshot = costs["snapshot"]
    assert snapshot["title"] == "Bigger" and snapshot["engine_type"] == "python"
    assert [(c["kind"], c["source"]) for c in snapshot["cells"]] == [
        ("code", "fresh_word"),
        ("code", "cell_2 = 2"),
        ("code", "cell_3 = 3"),
        ("markdown", "renamed_variable = 0"),
        ("code", "cell_4 = 4"),
    ]
    assert all(set(cell) == {"id", "kind", "source"} for cell in snapshot["cells"])


async def _restored(url: str) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    async with database(url) as (_, db):
        ada, notebook = await _big_notebook(db)
        [created] = (
            await db.scalars(select(Revision).where(Revision.notebook_id == notebook.id))
        ).all()
        editor = edits.Editor(notebook.id, ada.id, window=0)  # the first revision stays
        first, second = notebook.cells[0].id, notebook.cells[1].id
        await edits.update_cell(db, editor, first, source="changed since")
        newer = [{"type": "stream", "name": "stdout", "text": "run since\n"}]
        await notebooks.set_outputs(db, first, newer, 7)
        await edits.delete_cell(db, editor, second)
        await db.commit()
        restored = await notebooks.replace(
            db, await notebooks.load(db, notebook.id), created.snapshot
        )
        await db.commit()
        again = await notebooks.load(db, notebook.id)
        shown = [(c.source, c.outputs) for c in restored.cells]
        return shown, [(c.source, c.outputs) for c in again.cells]


def test_a_restored_revision_keeps_the_cells_outputs_of_now(database_url: str) -> None:
    shown, stored = asyncio.run(_restored(database_url))
    assert shown == stored
    big = [{"type": "stream", "name": "stdout", "text": OUTPUT}]
    assert stored == [
        ("cell_0 = 0", [{"type": "stream", "name": "stdout", "text": "run since\n"}]),
        ("cell_1 = 1", []),  # deleted since: it comes back, without output
        ("cell_2 = 2", big),
        ("cell_3 = 3", big),
        ("cell_4 = 4", big),
    ]


# --- migration 0006 --------------------------------------------------------------------------


async def _old_revision(url: str) -> int:
    async with database(url) as (_, db):
        ada, notebook = await _big_notebook(db)
        cells = [
            {**notebooks.cell_dict(cell), "position": cell.position} for cell in notebook.cells
        ]
        old = Revision(
            notebook_id=notebook.id,
            author_id=ada.id,
            summary="from before",
            snapshot={"title": "Big", "engine_type": "python", "cells": cells},
        )
        db.add(old)
        await db.commit()
        return old.id


async def _snapshot_of(url: str, revision_id: int) -> dict[str, Any]:
    async with database(url) as (_, db):
        revision = await db.get(Revision, revision_id)
        assert revision is not None
        return revision.snapshot


def test_migration_0006_drops_the_outputs_revisions_kept(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "0005")
    revision_id = asyncio.run(_old_revision(database_url))
    assert "outputs" in asyncio.run(_snapshot_of(database_url, revision_id))["cells"][0]
    upgrade(database_url)
    snapshot = asyncio.run(_snapshot_of(database_url, revision_id))
    assert [set(cell) for cell in snapshot["cells"]] == [{"id", "kind", "source"}] * 5
    assert [cell["source"] for cell in snapshot["cells"]] == [f"cell_{n} = {n}" for n in range(5)]
