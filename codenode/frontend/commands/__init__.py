"""The ``codenode`` commands that work on the frontend's database, one module per subject."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from codenode import environment
from codenode.frontend.db import create_engine, session_factory

T = TypeVar("T")


def database_url() -> str:
    """The database of the environment folder ($CODENODE_HOME), as the settings configure it."""
    return environment.database_url(environment.default_home())


def with_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run *work* with a session on the environment's database (migrated first)."""
    from codenode.frontend.db import upgrade

    home = environment.default_home()
    if not home.exists():  # a new machine: make the environment first, as `codenode run` does
        environment.init(home)
    url = database_url()
    upgrade(url)

    async def run() -> T:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())
