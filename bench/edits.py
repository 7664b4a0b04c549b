"""Saving an edit: what one keystroke's save costs in a big notebook.

A notebook of 200 code cells with 1 MB of stored outputs (5,000 characters of stdout each);
one cell's source is changed again and again, as a tab's ``update_cell`` does it, through the
bus's ``NotebookSession.edit`` (in process: the frontend's own code on a real database, no
HTTP or WebSocket in between). Each save is stored, recorded as a revision and re-indexed for
search, then committed. Two cases:

- *within the window*: the same author again and again, as someone typing: one revision is
  extended (its row rewritten);
- *a revision each*: a window of 0 s, so that every save adds a revision row.

On SQLite (a file in a temporary folder) and, when one answers, PostgreSQL (a database of its
own on ``BENCH_POSTGRES_URL``, default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``,
made and dropped by the run). The last column is the size of the newest revision's row: what
each save writes for the revision alone.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.report import Table, median, number, percentile

CELLS = 200
OUTPUT_CHARS = 1_000_000 // CELLS
EDITED = CELLS // 2
COLUMNS = ("save an edit to one cell", "median (ms)", "p90 (ms)", "revision row (bytes)", "n")
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def cells() -> list[dict[str, Any]]:
    """The notebook's cells: a line of code and 5,000 characters of output each."""
    line = "x" * 99 + "\n"
    text = line * (OUTPUT_CHARS // len(line))
    return [
        {
            "kind": "code",
            "source": f"print({index})",
            "outputs": [{"type": "stream", "name": "stdout", "text": text}],
            "execution_count": index + 1,
        }
        for index in range(CELLS)
    ]


async def measure(url: str, count: int, window: float) -> tuple[list[float], int]:
    """Milliseconds per save, and the newest revision's size, on the database at *url*."""
    from sqlalchemy import Text, cast, func, select

    from codenode.frontend import notebooks
    from codenode.frontend.bus.session import NotebookSession
    from codenode.frontend.config import FrontendConfig
    from codenode.frontend.db import Revision, create_engine, session_factory
    from codenode.frontend.users import add_user

    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        async with sessions() as db:
            user = await add_user(db, f"bench{time.monotonic_ns()}", "a bench password")
            notebook = await notebooks.create(db, user.id, "Big", "python", cells())
            cell_id = notebook.cells[EDITED].id
        config = FrontendConfig(url, "bench", revision_window_seconds=window)
        hub: Any = SimpleNamespace(sessions=sessions, config=config, closing=False)
        session = NotebookSession(hub, notebook.id, "python", "bench")
        tab: Any = SimpleNamespace(user=user, number=1, send=lambda message: None)
        timings = []
        for number_ in range(count + 3):
            message = {"cell_id": cell_id, "source": f"x = {number_}"}
            started = time.perf_counter()
            await session.edit(tab, number_, "update_cell", message)
            if number_ >= 3:  # the first saves warm the caches
                timings.append((time.perf_counter() - started) * 1000)
        async with sessions() as db:
            size = await db.scalar(
                select(func.length(cast(Revision.snapshot, Text)))
                .where(Revision.notebook_id == notebook.id)
                .order_by(Revision.id.desc())
                .limit(1)
            )
        return timings, int(size or 0)
    finally:
        await engine.dispose()


async def _postgres(statement: str, server: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def databases(folder: Path) -> list[tuple[str, str, str | None]]:
    """(name, URL, database to drop afterwards) of each database to measure on."""
    from codenode.frontend.db import default_url, upgrade

    found: list[tuple[str, str, str | None]] = [("SQLite", default_url(folder), None)]
    base = os.environ.get("BENCH_POSTGRES_URL", POSTGRES)
    server = base.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"codenode_bench_{os.getpid()}"
    try:
        asyncio.run(_postgres(f'CREATE DATABASE "{name}"', server))
    except Exception:  # no PostgreSQL here: SQLite alone
        pass
    else:
        found.append(("PostgreSQL", base.rsplit("/", 1)[0] + "/" + name, name))
    for _, url, _ in found:
        upgrade(url)
    return found


def run(quick: bool) -> list[Table]:
    count = 20 if quick else 100
    table = Table(
        f"Saving an edit: one cell of {CELLS}, with {CELLS * OUTPUT_CHARS / 1e6:g} MB of outputs",
        columns=COLUMNS,
    )
    server = os.environ.get("BENCH_POSTGRES_URL", POSTGRES)
    server = server.replace("postgresql+asyncpg://", "postgresql://", 1)
    with tempfile.TemporaryDirectory(prefix="codenode-bench-edits-") as folder:
        found = databases(Path(folder))
        try:
            for name, url, _ in found:
                for label, window in (("within the window", 60.0), ("a revision each", 0.0)):
                    timings, size = asyncio.run(measure(url, count, window))
                    table.rows.append(
                        [
                            f"{name}, {label}",
                            number(median(timings)),
                            number(percentile(timings, 90)),
                            f"{size:,}",
                            str(len(timings)),
                        ]
                    )
        finally:
            for _, _, dropped in found:
                if dropped is not None:
                    statement = f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'
                    asyncio.run(_postgres(statement, server))
    table.notes.append(
        "NotebookSession.edit(update_cell) as a tab's save reaches it: the change, its revision"
        " and its search entry, committed; 3 saves first to warm up."
    )
    return [table]
