"""A notebook's edits from its tabs: applied by ``codenode.frontend.edits`` (as the REST
routes apply theirs), then told to every tab.

Changes to one notebook through the bus go one at a time, in order (``lock``); the sources as
stored are kept here, so that an evaluation of an unchanged cell writes nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from codenode.frontend import edits
from codenode.frontend.bus.running import RunningCells
from codenode.frontend.bus.tab import Tab, Tabs
from codenode.frontend.edits import Editor
from codenode.frontend.errors import FrontendError

if TYPE_CHECKING:
    from codenode.frontend.bus.hub import Hub


class Editing:
    """The edits of one open notebook."""

    def __init__(self, hub: Hub, notebook_id: str, tabs: Tabs, running: RunningCells) -> None:
        self.hub = hub
        self.notebook_id = notebook_id
        self.tabs = tabs
        self.running = running
        self.lock = asyncio.Lock()  # changes to the notebook, one at a time, in order
        self.sources: dict[str, str] = {}  # stored sources, to skip writing an unchanged one

    async def edit(
        self, tab: Tab | None, tab_id: int | None, op: str, message: dict[str, Any]
    ) -> None:
        """A change to the notebook from a tab, applied as the REST routes apply it
        (``codenode.frontend.edits``), then told to every tab; one that changed nothing is
        the asking tab's answer alone."""
        author = tab.user.id if tab is not None and tab.user is not None else None
        editor = Editor(self.notebook_id, author, self.hub.config.revision_window_seconds)
        async with self.lock, self.hub.sessions() as db:
            try:
                change = await edits.apply(db, editor, op, message)
            except FrontendError as exc:
                await db.rollback()
                if tab is not None:
                    tab.send({"type": "error", "id": tab_id, "message": exc.message})
                return
        self.note(change.event)
        event = change.event
        if tab is not None:
            event = {**event, "origin": tab.number, "id": tab_id}
        if change.saved:
            self.tabs.broadcast(event)
        elif tab is not None:
            tab.send(event)

    def note(self, event: dict[str, Any]) -> None:
        """Keep the cache of stored sources in step with a change (from the bus or REST)."""
        kind = event.get("type")
        if kind == "cell_updated":
            self.sources[event["cell_id"]] = event["source"]
        elif kind == "cell_inserted":
            self.sources[event["cell"]["id"]] = event["cell"]["source"]
        elif kind == "cell_deleted":
            self.sources.pop(event["cell_id"], None)
            self.running.drop(event["cell_id"])
        elif kind == "notebook_replaced":
            self.sources.clear()
