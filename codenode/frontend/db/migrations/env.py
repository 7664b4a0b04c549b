"""Alembic's entry point, run by ``codenode.frontend.db.database.upgrade``.

The URL comes from ``config.attributes["url"]`` (there is no alembic.ini). Migrations run on
an async engine: Alembic itself is synchronous, so it gets the connection through
``run_sync``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from codenode.frontend.db.database import create_engine
from codenode.frontend.db.models import Base
from codenode.frontend.search import include_name

config = context.config
url: str = config.attributes["url"]


def run_on(connection: Connection) -> None:
    """Run the pending migrations on a synchronous *connection*."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: later migrations copy the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Search's tables are made by hand (migration 0002), per database: not in the models.
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    """Connect with the async engine and migrate."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
