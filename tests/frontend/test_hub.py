"""The hub's open notebooks, in process on a real database: a tab that is joining a notebook
keeps its session, so that every tab of one notebook shares one session (and hears the same)."""

from __future__ import annotations

import asyncio

from codenode.frontend import notebooks
from codenode.frontend.backends.registry import BackendRegistry
from codenode.frontend.bus.hub import Hub
from codenode.frontend.bus.session import NotebookSession
from codenode.frontend.bus.tab import Tab
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import User, create_engine, session_factory


async def _two_tabs_while_the_hub_flushes(url: str) -> tuple[NotebookSession, NotebookSession]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as db:
            ada = User(username="ada", password_hash="$argon2id$not-a-real-hash")
            db.add(ada)
            await db.commit()
            notebook = await notebooks.create(db, ada.id, "Shared", "python", [{"source": ""}])
        hub = Hub(sessions, BackendRegistry(sessions, 60), FrontendConfig(url, "s" * 32))
        first = hub.session(notebook.id, "python", "workspace")
        joining = asyncio.create_task(first.join(Tab(None, ada, "owner", 1)))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # the first tab reads its snapshot from the database...
        await hub._flush_all()  # ...when the hub's chore (every output_flush_seconds) runs
        await joining
        second = hub.session(notebook.id, "python", "workspace")  # the next tab's session
        await second.join(Tab(None, ada, "owner", 2))  # type: ignore[arg-type]
        return first, second
    finally:
        await engine.dispose()


def test_a_tab_joining_while_the_hub_flushes_shares_the_session_of_the_next(
    database_url: str,
) -> None:
    # The hub forgets a session with no tab at each flush; one whose first tab was still
    # reading its snapshot was forgotten, and the next tab got a session of its own: neither
    # tab heard the other's cells run (seen on CI as a second tab waiting for ever).
    first, second = asyncio.run(_two_tabs_while_the_hub_flushes(database_url))
    assert second is first
    assert sorted(first.tabs) == [1, 2]
