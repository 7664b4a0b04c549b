"""Real databases for the frontend tests: SQLite always, PostgreSQL when one is configured.

``CODENODE_TEST_POSTGRES_URL`` (``postgresql+asyncpg://...``) names a database these tests may
wipe: its ``public`` schema is dropped and created again around each test that wants an empty
one; a test that wants one at the newest schema gets its tables emptied instead, once it has
been migrated (SQLite: a copy of a file migrated once a run). Without it, where this machine's
PostgreSQL answers on 127.0.0.1:5432, the tests make a database of their own there
(``codenode_test_<pid>``, beside ``test``), dropped when they end; so does each worker of
``make test-fast`` (pytest-xdist), beside the configured one too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import pool, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend.db import create_engine, default_url, session_factory, upgrade
from codenode.frontend.db.database import DATABASE_FILE
from tests.backend.conftest import TOKEN, Backend, python_plugin, start_backend
from tests.frontend.live import LiveFrontend, off_loop, register_backend

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SQLITE_PREFIX = "sqlite+aiosqlite:///"
REVISION = "SELECT version_num FROM alembic_version"


def _postgres_url() -> str:
    """The configured database; else this machine's PostgreSQL (database ``test``), if one
    answers on 127.0.0.1:5432; else none. CODENODE_TEST_POSTGRES_URL=off: none."""
    configured = os.environ.get("CODENODE_TEST_POSTGRES_URL")
    if configured is not None:
        if configured in ("", "off"):
            return ""
        # Each of make test-fast's workers (pytest-xdist) on a database of its own beside it.
        return _own_database(configured) if os.environ.get("PYTEST_XDIST_WORKER") else configured
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return ""
    return _own_database(LOCAL_POSTGRES)


def _own_database(url: str) -> str:
    """A database of this test run's own beside *url*'s, made now and dropped at exit: two
    runs on one machine (two checkouts, a developer and CI) never wipe each other's tables.
    Where it cannot be made, *url* itself."""
    import atexit

    import asyncpg

    name = f"codenode_test_{os.getpid()}"
    server = url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(server)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError):
        return url
    atexit.register(lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    return url.rsplit("/", 1)[0] + "/" + name


POSTGRES_URL = _postgres_url()
DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL,
            reason="no PostgreSQL on 127.0.0.1:5432 nor in CODENODE_TEST_POSTGRES_URL",
        ),
    ),
]
"""The kinds of database every frontend test runs on (a fixture's params)."""


_at_head: dict[str, str] = {}
"""The PostgreSQL databases database_url migrated to the newest schema, and that schema's
revision: the next test that wants one truncates their tables rather than migrating again,
unless the last one changed the schema (a test of downgrading, say)."""


async def _reset_postgres(url: str) -> None:
    _at_head.pop(url, None)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def _revision(url: str) -> str:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return str((await connection.execute(text(REVISION))).scalar_one())
    finally:
        await engine.dispose()


async def _empty_tables(url: str, revision: str) -> bool:
    """Every table emptied and every id counting from 1 again, as freshly migrated (the
    migrations add no rows but alembic's own), if the schema is still at *revision*."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            try:
                found = (await connection.execute(text(REVISION))).scalar_one_or_none()
            except DBAPIError:
                return False
            if found != revision:
                return False
            tables = (
                await connection.execute(
                    text(
                        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'alembic_version'"
                    )
                )
            ).scalars()
            await connection.execute(
                text(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE")
            )
            return True
    finally:
        await engine.dispose()


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, on each kind of database the tests run on."""
    if request.param == "sqlite":
        yield default_url(tmp_path)
        return
    off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))
    try:
        yield POSTGRES_URL
    finally:
        off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest schema once a run: each test that wants one
    gets a copy (milliseconds, where migrating takes half a second)."""
    home = tmp_path_factory.mktemp("migrated")
    off_loop(upgrade, default_url(home))
    return home / DATABASE_FILE


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> str:
    """The URL of a database migrated to the newest schema, on each kind of database."""
    if request.param == "sqlite":
        url = default_url(tmp_path)
        target = url.removeprefix(SQLITE_PREFIX)
        with (
            contextlib.closing(sqlite3.connect(migrated_sqlite)) as source,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
        return url
    revision = _at_head.get(POSTGRES_URL)
    if revision is None or not off_loop(asyncio.run, _empty_tables(POSTGRES_URL, revision)):
        off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))
        off_loop(upgrade, POSTGRES_URL)
        _at_head[POSTGRES_URL] = off_loop(asyncio.run, _revision(POSTGRES_URL))
    return POSTGRES_URL


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the database at *url*, its engine disposed of afterwards."""
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


# --- A real frontend, with a real backend registered, for the API and bus tests ---------------


@pytest.fixture(
    scope="module",
    params=DATABASES,
)
def frontend_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty, migrated database for one test module's frontend, of each kind."""
    if request.param == "sqlite":
        url = default_url(tmp_path_factory.mktemp("db"))
        off_loop(upgrade, url)
        yield url
        return
    off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))
    off_loop(upgrade, POSTGRES_URL)
    try:
        yield POSTGRES_URL
    finally:
        off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))


@pytest.fixture(scope="module")
def live_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A real backend process with the python engine type, shared by a module's tests.

    Templated, as the shipped python type is: notebooks get forked engines, as users' do.
    """
    folder = tmp_path_factory.mktemp("backend")
    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin(templated=True))
    running = start_backend(plugins, folder)
    yield running
    running.close()


@pytest.fixture(scope="module")
def frontend(
    frontend_database: str, live_backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveFrontend]:
    """A real `codenode frontend` on that database, the backend registered as "local"."""
    register_backend(frontend_database, "local", live_backend.url, TOKEN)
    live = LiveFrontend(tmp_path_factory.mktemp("home"), frontend_database)
    live.start()
    yield live
    live.stop()
