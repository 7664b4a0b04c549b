"""Real databases for the frontend tests: SQLite always, PostgreSQL when one is configured.

``CODENODE_TEST_POSTGRES_URL`` (``postgresql+asyncpg://...``) names a database these tests may
wipe: its ``public`` schema is dropped and created again before and after each test.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend.db import create_engine, default_url, session_factory, upgrade

POSTGRES_URL = os.environ.get("CODENODE_TEST_POSTGRES_URL", "")


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="CODENODE_TEST_POSTGRES_URL is not set"
            ),
        ),
    ]
)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, on each kind of database the tests run on."""
    if request.param == "sqlite":
        yield default_url(tmp_path)
        return
    asyncio.run(_reset_postgres(POSTGRES_URL))
    try:
        yield POSTGRES_URL
    finally:
        asyncio.run(_reset_postgres(POSTGRES_URL))


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """The URL of a database migrated to the newest schema."""
    upgrade(empty_database_url)
    return empty_database_url


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the database at *url*, its engine disposed of afterwards."""
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
