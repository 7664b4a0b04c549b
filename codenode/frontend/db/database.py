"""Opening the database: the async engine, sessions, and migrating to the newest schema.

SQLite is the embedded default (a file in the environment folder, in WAL mode so that readers
never wait for the writer); PostgreSQL serves several frontends at once. Both through the same
URLs SQLAlchemy knows: ``sqlite+aiosqlite:///PATH`` and ``postgresql+asyncpg://...``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DATABASE_FILE = "codenode.db"


def default_url(home: Path) -> str:
    """The embedded database of the environment folder *home*: a SQLite file in it."""
    return f"sqlite+aiosqlite:///{home.resolve() / DATABASE_FILE}"


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for *url*; on SQLite, every connection gets WAL and foreign keys.

    *options* go to SQLAlchemy's ``create_async_engine`` (``poolclass``, ``echo``, ...).
    """
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # SQLite enforces foreign keys (and so ON DELETE CASCADE) only when asked, per connection.
    # WAL is stored in the file; asking again is cheap. busy_timeout: a writer waits for another
    # writer a while instead of failing at once with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of the process
    # (kill -9 included) loses nothing; only a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on *engine*; objects stay readable after commit (no reload behind the scenes)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic's configuration for *url*, built in Python: no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not an option: an option would go through configparser's
    # interpolation, and a password may contain "%".
    config.attributes["url"] = url
    return config


def upgrade(url: str) -> None:
    """Migrate the database at *url* to the newest schema (creating it if it is empty).

    Synchronous, for the CLI (``codenode init``, ``codenode db upgrade``): it runs its own event
    loop, so it cannot be called from inside one; there, run it in a thread
    (``await asyncio.to_thread(upgrade, url)``).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(url), "head")
    else:
        raise RuntimeError(
            "upgrade() runs its own event loop: call it with asyncio.to_thread(upgrade, url)"
        )


def describe(url: str) -> str:
    """The URL without its password, fit for a log or a terminal."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
