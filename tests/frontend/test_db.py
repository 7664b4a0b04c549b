"""The database layer on real databases: models, constraints, cascades, migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from codenode.frontend import search
from codenode.frontend.db import (
    Backend,
    Base,
    Cell,
    Notebook,
    Revision,
    Share,
    User,
    create_engine,
    default_url,
    upgrade,
)
from codenode.frontend.db.database import alembic_config
from tests.frontend.conftest import opened


def user(name: str = "ada") -> User:
    return User(username=name, password_hash="$argon2id$not-a-real-hash")


def test_notebook_with_cells_share_and_revision(database_url: str) -> None:
    async def check() -> None:
        async with opened(database_url) as sessions:
            async with sessions.begin() as session:
                owner, reader = user("ada"), user("bob")
                notebook = Notebook(title="Orbits", owner=owner, engine_type="python")
                session.add_all([owner, reader, notebook])
                # Stored out of order, one flush each (a single flush would sort them by id):
                # the notebook must come back ordered by position.
                for position, kind, source in [
                    (2, "code", "a + a"),
                    (0, "title", "Orbits"),
                    (1, "code", "a = 12"),
                ]:
                    notebook.cells.append(Cell(position=position, kind=kind, source=source))
                    await session.flush()
                notebook.cells[0].outputs = [{"type": "stream", "name": "stdout", "text": "24\n"}]
                notebook.cells[0].execution_count = 2
                await session.flush()
                session.add(Share(notebook_id=notebook.id, user_id=reader.id, role="viewer"))
                session.add(
                    Revision(
                        notebook_id=notebook.id,
                        author_id=owner.id,
                        summary="first",
                        snapshot={"title": "Orbits", "cells": ["Orbits", "a = 12", "a + a"]},
                    )
                )
                notebook_id = notebook.id

            async with sessions() as session:
                found = await session.scalar(
                    select(Notebook)
                    .where(Notebook.id == notebook_id)
                    .options(
                        selectinload(Notebook.cells),
                        selectinload(Notebook.owner),
                        selectinload(Notebook.shares),
                        selectinload(Notebook.revisions),
                    )
                )
                assert found is not None
                assert len(found.id) == 36
                assert found.owner.username == "ada"
                assert found.location == ""
                assert found.public_link is False
                assert found.created.year >= 2024
                # Both databases tend to answer in position order by themselves (through the
                # (notebook_id, position) index); the relationship must not rely on that.
                assert [str(column) for column in Notebook.cells.property.order_by] == [
                    "cells.position"
                ]
                assert [(c.position, c.kind, c.source) for c in found.cells] == [
                    (0, "title", "Orbits"),
                    (1, "code", "a = 12"),
                    (2, "code", "a + a"),
                ]
                assert found.cells[2].outputs == [
                    {"type": "stream", "name": "stdout", "text": "24\n"}
                ]
                assert found.cells[2].execution_count == 2
                assert found.cells[0].outputs == []
                assert found.cells[0].execution_count is None
                assert [(s.user_id, s.role) for s in found.shares] == [
                    (await session.scalar(select(User.id).where(User.username == "bob")), "viewer")
                ]
                [revision] = found.revisions
                assert revision.summary == "first"
                assert revision.snapshot["cells"] == ["Orbits", "a = 12", "a + a"]

    asyncio.run(check())


def test_deleting_a_notebook_deletes_its_cells_shares_and_revisions(database_url: str) -> None:
    async def check() -> None:
        async with opened(database_url) as sessions:
            async with sessions.begin() as session:
                owner, reader = user("ada"), user("bob")
                kept = Notebook(title="kept", owner=owner, engine_type="python")
                doomed = Notebook(title="doomed", owner=owner, engine_type="python")
                kept.cells.append(Cell(position=0, source="1"))
                doomed.cells.extend(Cell(position=i, source=str(i)) for i in range(3))
                session.add_all([owner, reader, kept, doomed])
                await session.flush()
                session.add(Share(notebook_id=doomed.id, user_id=reader.id, role="collaborator"))
                session.add(Revision(notebook_id=doomed.id, snapshot={}))
            async with sessions.begin() as session:
                # A bulk delete: only the database's ON DELETE CASCADE can clean up.
                await session.execute(delete(Notebook).where(Notebook.title == "doomed"))
            async with sessions() as session:
                assert await session.scalar(select(func.count()).select_from(Cell)) == 1
                assert await session.scalar(select(func.count()).select_from(Share)) == 0
                assert await session.scalar(select(func.count()).select_from(Revision)) == 0

    asyncio.run(check())


def test_deleting_an_author_keeps_their_revisions(database_url: str) -> None:
    async def check() -> None:
        async with opened(database_url) as sessions:
            async with sessions.begin() as session:
                owner, author = user("ada"), user("bob")
                notebook = Notebook(title="n", owner=owner, engine_type="python")
                session.add_all([owner, author, notebook])
                await session.flush()
                session.add(Revision(notebook_id=notebook.id, author_id=author.id, snapshot={}))
            async with sessions.begin() as session:
                await session.execute(delete(User).where(User.username == "bob"))
            async with sessions() as session:
                [revision] = (await session.scalars(select(Revision))).all()
                assert revision.author_id is None

    asyncio.run(check())


def test_usernames_are_unique(database_url: str) -> None:
    async def check() -> None:
        async with opened(database_url) as sessions:
            async with sessions.begin() as session:
                session.add(user("ada"))
            with pytest.raises(IntegrityError):
                async with sessions.begin() as session:
                    session.add(user("ada"))

    asyncio.run(check())


def test_two_cells_cannot_share_a_position(database_url: str) -> None:
    async def check() -> None:
        async with opened(database_url) as sessions:
            async with sessions.begin() as session:
                notebook = Notebook(title="n", owner=user(), engine_type="python")
                notebook.cells.append(Cell(position=0, source="first"))
                session.add(notebook)
            with pytest.raises(IntegrityError):
                async with sessions.begin() as session:
                    session.add(Cell(notebook_id=notebook.id, position=0, source="second"))
            # The same position in another notebook is fine.
            async with sessions.begin() as session:
                other = Notebook(title="other", owner_id=notebook.owner_id, engine_type="python")
                other.cells.append(Cell(position=0, source="elsewhere"))
                session.add(other)

    asyncio.run(check())


@pytest.mark.parametrize(
    ("model", "field", "value"), [(Cell, "kind", "heading"), (Share, "role", "owner")]
)
def test_kinds_and_roles_are_checked(
    database_url: str, model: type[Cell | Share], field: str, value: str
) -> None:
    async def check() -> None:
        async with opened(database_url) as sessions:
            async with sessions.begin() as session:
                owner, reader = user("ada"), user("bob")
                notebook = Notebook(title="n", owner=owner, engine_type="python")
                session.add_all([owner, reader, notebook])
                await session.flush()
                ids = {"notebook_id": notebook.id}
            values = {"position": 0} if model is Cell else {"user_id": reader.id}
            with pytest.raises(IntegrityError):
                async with sessions.begin() as session:
                    session.add(model(**ids, **values, **{field: value}))

    asyncio.run(check())


def test_backend_repr_hides_its_token() -> None:
    backend = Backend(name="local", url="http://127.0.0.1:8001", token="s3cret-token")
    assert "s3cret-token" not in repr(backend)
    assert "local" in repr(backend)


def test_sqlite_is_a_wal_file_in_the_environment_with_foreign_keys(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/codenode.db"
    upgrade(url)
    assert (tmp_path / "codenode.db").is_file()

    async def check() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                mode = await connection.scalar(text("PRAGMA journal_mode"))
                foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
        finally:
            await engine.dispose()
        assert (mode, foreign_keys) == ("wal", 1)

    asyncio.run(check())


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": search.include_name}
    )
    return list(compare_metadata(context, Base.metadata))


def test_the_migrations_create_exactly_the_models(database_url: str) -> None:
    async def check() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_differences) == []
                tables = await connection.run_sync(
                    lambda sync: set(inspect(sync).get_table_names())
                )
        finally:
            await engine.dispose()
        assert {t for t in tables if search.include_name(t, "table", {})} == set(
            Base.metadata.tables
        ) | {"alembic_version"}

    asyncio.run(check())


def test_an_empty_database_differs_from_the_models(empty_database_url: str) -> None:
    """The comparison above can fail: unmigrated, every table is reported missing."""

    async def check() -> None:
        engine = create_engine(empty_database_url)
        try:
            async with engine.connect() as connection:
                differences = await connection.run_sync(_differences)
        finally:
            await engine.dispose()
        added = {
            diff[1].name
            for diff in differences
            if isinstance(diff, tuple) and diff[0] == "add_table"
        }
        assert added == set(Base.metadata.tables)

    asyncio.run(check())


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    upgrade(database_url)

    async def check() -> None:
        async with opened(database_url) as sessions, sessions() as session:
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        assert (
            version == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        )

    asyncio.run(check())


def test_upgrade_refuses_to_run_inside_an_event_loop(tmp_path: Path) -> None:
    async def check() -> None:
        with pytest.raises(RuntimeError, match="to_thread"):
            upgrade(default_url(tmp_path))
        await asyncio.to_thread(upgrade, default_url(tmp_path))

    asyncio.run(check())
    assert (tmp_path / "codenode.db").is_file()
