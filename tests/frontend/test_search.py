"""Full-text search on a real frontend (SQLite FTS5 and PostgreSQL), its index kept in step
with every change, and migrations 0002 and 0005 up and down."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, inspect, select, text
from sqlalchemy.engine import Connection

from codenode.frontend import notebooks, search
from codenode.frontend.db import Notebook, User, create_engine
from codenode.frontend.db.database import alembic_config, upgrade
from tests.frontend.conftest import opened
from tests.frontend.live import Client, LiveFrontend
from tests.frontend.test_db import _differences


def found(client: Client, query: str) -> list[str]:
    """Titles of the notebooks a search finds, best first."""
    results = client.ok("GET", "/api/search", params={"q": query})["results"]
    return [result["title"] for result in results]


def fill(client: Client, title: str, *sources: str) -> dict[str, Any]:
    """A new notebook with cells of these sources; returned as it is then."""
    notebook = client.new_notebook(title)
    base = f"/api/notebooks/{notebook['id']}"
    first, *more = sources or ("",)
    client.ok("PATCH", f"{base}/cells/{notebook['cells'][0]['id']}", json={"source": first})
    for source in more:
        client.ok("POST", f"{base}/cells", 201, json={"source": source})
    answer: dict[str, Any] = client.ok("GET", base)
    return answer


def test_finds_by_title_and_by_cell_source(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    fill(ada, "Planetary orbits", "import numpy as np", "kepler_period = 2 * np.pi")
    fill(ada, "Grocery list", "eggs = 12\nflour = '1 kg'")
    assert found(ada, "orbits") == ["Planetary orbits"]
    assert found(ada, "ORBITS") == ["Planetary orbits"]  # any case
    assert found(ada, "numpy") == ["Planetary orbits"]
    assert found(ada, "kepler_period") == ["Planetary orbits"]  # identifiers, as written
    assert found(ada, "eggs flour") == ["Grocery list"]  # every word
    assert found(ada, "eggs numpy") == []
    assert found(ada, "unheard") == []


def test_a_title_match_ranks_first_and_snippets_mark_the_words(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    fill(ada, "Notes", "we mention the comet once here")
    fill(ada, "Comet tracking", "x = 1")
    results = ada.ok("GET", "/api/search", params={"q": "comet"})["results"]
    assert [r["title"] for r in results] == ["Comet tracking", "Notes"]
    notes = results[1]
    assert "comet" in notes["snippet"]
    assert "\x02" not in notes["snippet"] and "\x03" not in notes["snippet"]
    assert [notes["snippet"][start:end] for start, end in notes["matches"]] == ["comet"]
    assert set(results[0]) == {"notebook_id", "title", "snippet", "matches"}


def test_only_notebooks_the_user_may_read(frontend: LiveFrontend) -> None:
    ada, bob, eve = frontend.user(), frontend.user(), frontend.user()
    secret = fill(ada, "Secret plans", "zanzibar_rendezvous = True")
    assert found(ada, "zanzibar_rendezvous") == ["Secret plans"]
    assert found(eve, "zanzibar_rendezvous") == []
    # A public link is for reading by link, not for finding.
    ada.ok("PUT", f"/api/notebooks/{secret['id']}/public", json={"enabled": True})
    assert found(eve, "zanzibar_rendezvous") == []
    # Shared: found; unshared: not.
    ada.ok(
        "PUT",
        f"/api/notebooks/{secret['id']}/shares/{bob.user['username']}",  # type: ignore[index]
        json={"role": "viewer"},
    )
    assert found(bob, "zanzibar_rendezvous") == ["Secret plans"]
    ada.ok("DELETE", f"/api/notebooks/{secret['id']}/shares/{bob.user['username']}", 204)  # type: ignore[index]
    assert found(bob, "zanzibar_rendezvous") == []
    # The trash is not searched; the archive is.
    for location, expected in [
        ("trash", []),
        ("archive", ["Secret plans"]),
        ("", ["Secret plans"]),
    ]:
        ada.ok("PUT", f"/api/notebooks/{secret['id']}/location", json={"location": location})
        assert found(ada, "zanzibar_rendezvous") == expected, location
    assert frontend.client().get("/api/search", params={"q": "x"}).status_code == 401


def test_the_index_follows_every_change(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    notebook = fill(ada, "Alpha", "first_word", "second_word")
    base = f"/api/notebooks/{notebook['id']}"
    first, second = (cell["id"] for cell in notebook["cells"])
    ada.ok("PATCH", f"{base}/cells/{first}", json={"source": "replaced_word"})
    assert found(ada, "first_word") == []
    assert found(ada, "replaced_word") == ["Alpha"]
    ada.ok("DELETE", f"{base}/cells/{second}", 204)
    assert found(ada, "second_word") == []
    ada.ok("PATCH", base, json={"title": "Omega"})
    assert found(ada, "alpha") == []
    assert found(ada, "omega") == ["Omega"]
    # A revert brings the old words back.
    [*_, created] = ada.ok("GET", f"{base}/revisions")["revisions"]
    ada.ok("POST", f"{base}/revisions/{created['id']}/revert")
    ada.ok("DELETE", f"{base}/cells/{first}", 204)
    ada.ok("POST", f"{base}/cells", 201, json={"source": "restored_word"})
    assert found(ada, "restored_word") == ["Omega"]
    ada.ok("DELETE", base, 204)
    assert found(ada, "restored_word") == []
    assert found(ada, "omega") == []


ODD_QUERIES = [
    '"',
    '""',
    "'",
    "*",
    "foo*",
    "(",
    ")",
    "a OR",
    "AND",
    "NOT",
    "NEAR(a b)",
    "title:x",
    "-x",
    "^x",
    "x:*",
    "!",
    "&|",
    "\\",
    "'; DROP TABLE notebooks; --",
    "%_",
    "\x00",
    "   ",
    "",
    "😀 ümlaut",
    "x" * 1000,
]


def test_odd_queries_never_fail(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    fill(ada, "Symbols", "AND = 1\nNOT = 2\nNEAR = 3\ntitle = 'x'\nümlaut = '😀'")
    for query in ODD_QUERIES:
        response = ada.get("/api/search", params={"q": query})
        assert response.status_code == 200, (query, response.text)
        assert isinstance(response.json()["results"], list)
    # The words in them still count, the syntax does not.
    assert found(ada, "AND") == ["Symbols"]
    assert found(ada, '"NEAR"') == ["Symbols"]
    assert found(ada, "ümlaut") == ["Symbols"]
    assert found(ada, "title:x") == ["Symbols"]
    assert found(ada, "-x") == ["Symbols"]
    assert ada.get("/api/search").status_code == 422  # no q at all
    assert ada.get("/api/search", params={"q": "x" * 1001}).status_code == 422


# --- pure functions ------------------------------------------------------------------------


def test_words_keep_letters_digits_and_underscores() -> None:
    assert search.words('foo_bar "baz" NEAR(x*) -1.5') == ["foo_bar", "baz", "NEAR", "x", "1", "5"]
    assert search.words("'; --") == []


def test_unmark() -> None:
    assert search.unmark("a \x02b\x03 c \x02dd\x03") == ("a b c dd", [(2, 3), (6, 8)])
    assert search.unmark("plain") == ("plain", [])
    assert search.unmark("") == ("", [])
    assert search.unmark("\x02\x03stray\x03") == ("stray", [])


# --- migration 0002 ------------------------------------------------------------------------


def _search_tables(connection: Connection) -> set[str]:
    return {t for t in inspect(connection).get_table_names() if t.startswith("search_")}


async def _state(url: str) -> tuple[set[str], list[Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_search_tables)
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    return tables, differences


async def _old_notebook(url: str) -> str:
    """A notebook written as before search existed: rows only, in the tables of 0001 (the
    models are today's)."""
    now = datetime.now(UTC)
    notebook_id = str(uuid.uuid4())
    async with opened(url) as sessions, sessions() as db:
        owner = await db.execute(
            text(
                "INSERT INTO users (username, password_hash, is_admin, disabled, created)"
                " VALUES ('old', '$argon2id$not-a-real-hash', false, false, :now) RETURNING id"
            ),
            {"now": now},
        )
        await db.execute(
            text(
                "INSERT INTO notebooks (id, title, owner_id, engine_type, created, updated,"
                " location, public_link) VALUES (:id, 'From before', :owner, 'python', :now,"
                " :now, '', false)"
            ),
            {"id": notebook_id, "owner": owner.scalar_one(), "now": now},
        )
        for position, source in ((1, "second_cell_word"), (0, "first")):
            await db.execute(
                text(
                    "INSERT INTO cells (id, notebook_id, position, kind, source, outputs)"
                    " VALUES (:id, :notebook, :position, 'code', :source, '[]')"
                ),
                {"id": str(uuid.uuid4()), "notebook": notebook_id, "position": position,
                 "source": source},
            )  # fmt: skip
        await db.commit()
    return notebook_id


async def _find(url: str, query: str) -> list[Any]:
    async with opened(url) as sessions, sessions() as db:
        owner = await db.scalar(select(User.id).where(User.username == "old"))
        assert owner is not None
        await _index_is_consistent(db)
        return await search.find(db, owner, query)


def test_migration_0002_up_and_down(database_url: str) -> None:
    with_search = asyncio.run(_state(database_url))
    assert "search_documents" in with_search[0]
    assert with_search[1] == []
    command.downgrade(alembic_config(database_url), "0001")
    assert asyncio.run(_state(database_url))[0] == set()  # the later migrations' tables differ

    notebook_id = asyncio.run(_old_notebook(database_url))
    upgrade(database_url)
    assert asyncio.run(_state(database_url)) == with_search
    # Notebooks that were there before are indexed by the migrations, each cell on its own.
    [hit] = asyncio.run(_find(database_url, "second_cell_word"))
    assert (hit.notebook_id, hit.title) == (notebook_id, "From before")
    assert hit.snippet == "second_cell_word"
    # Found by its title alone: the snippet is the opening of its first cell.
    [by_title] = asyncio.run(_find(database_url, "before"))
    assert (by_title.snippet, by_title.matches) == ("first", [])


async def _rows(url: str) -> list[tuple[Any, ...]]:
    async with opened(url) as sessions, sessions() as db:
        await _index_is_consistent(db)
        columns = "cell_id IS NOT NULL, title, body"
        if "cell_id" not in await db.run_sync(
            lambda sync: {
                c["name"] for c in inspect(sync.connection()).get_columns("search_documents")
            }
        ):
            columns = "false, title, body"
        rows = await db.execute(text(f"SELECT {columns} FROM search_documents"))
        return sorted(tuple(row) for row in rows)


def test_migration_0005_up_and_down(database_url: str) -> None:
    """0005 indexes every cell and title on its own row; down again, one row per notebook."""
    command.downgrade(alembic_config(database_url), "0001")
    asyncio.run(_old_notebook(database_url))
    upgrade(database_url)
    by_cell = [
        (False, "From before", ""),
        (True, "", "first"),
        (True, "", "second_cell_word"),
    ]
    assert asyncio.run(_rows(database_url)) == by_cell
    command.downgrade(alembic_config(database_url), "0004")
    assert asyncio.run(_rows(database_url)) == [(False, "From before", "first\nsecond_cell_word")]
    upgrade(database_url)
    assert asyncio.run(_rows(database_url)) == by_cell
    assert asyncio.run(_state(database_url))[1] == []
    [hit] = asyncio.run(_find(database_url, "second_cell_word before"))
    assert hit.title == "From before"


async def _index_is_consistent(db: Any) -> None:
    """On SQLite, FTS5 checks its index against search_documents (an error if they differ)."""
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(
            text("INSERT INTO search_index (search_index, rank) VALUES ('integrity-check', 1)")
        )


@pytest.mark.parametrize("how", ["notebook", "owner"])
def test_a_deleted_notebook_leaves_no_entry(database_url: str, how: str) -> None:
    async def check() -> list[Any]:
        async with opened(database_url) as sessions, sessions() as db:
            owner = User(username="old", password_hash="$argon2id$not-a-real-hash")
            db.add(owner)
            await db.commit()
            notebook = await notebooks.create(db, owner.id, "Doomed words", "python")
            assert [h.title for h in await search.find(db, owner.id, "doomed")] == ["Doomed words"]
            # Deleted in bulk, by the database's cascade: the entry goes too.
            if how == "notebook":
                await db.execute(delete(Notebook).where(Notebook.id == notebook.id))
            else:
                await db.execute(delete(User).where(User.id == owner.id))
            await db.commit()
            await _index_is_consistent(db)
            return list(await db.execute(text("SELECT notebook_id FROM search_documents")))

    assert asyncio.run(check()) == []
