"""A notebook's edits from its tabs: stored, recorded, told to every tab.

Changes to one notebook through the bus go one at a time, in order (``lock``); the sources as
stored are kept here, so that an evaluation of an unchanged cell writes nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from codenode.frontend import events, notebooks
from codenode.frontend.bus.running import RunningCells
from codenode.frontend.bus.tab import Tab, Tabs
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
        """A change to the notebook from a tab: stored, recorded, told to every tab."""
        author = tab.user.id if tab is not None and tab.user is not None else None
        async with self.lock, self.hub.sessions() as db:
            try:
                event = await self._apply(db, op, message)
                notebook = await notebooks.load(db, self.notebook_id)
                await notebooks.changed(
                    db,
                    notebook,
                    author,
                    _summary(op, message, notebook),
                    window=self.hub.config.revision_window_seconds,
                )
                await db.commit()
            except FrontendError as exc:
                await db.rollback()
                if tab is not None:
                    tab.send({"type": "error", "id": tab_id, "message": exc.message})
                return
        self.note(event)
        if tab is not None:
            event = {**event, "origin": tab.number, "id": tab_id}
        self.tabs.broadcast(event)

    async def _apply(self, db: Any, op: str, message: dict[str, Any]) -> dict[str, Any]:
        notebook_id = self.notebook_id
        if op == "insert_cell":
            cell = await notebooks.insert_cell(
                db,
                notebook_id,
                message.get("position"),
                message.get("kind") or "code",
                message.get("source") or "",
                message.get("cell_id"),
            )
            return events.cell_inserted(cell)
        if op == "update_cell":
            cell = await notebooks.update_cell(
                db, notebook_id, message["cell_id"], message.get("source"), message.get("kind")
            )
            return events.cell_updated(cell)
        if op == "move_cell":
            cell = await notebooks.move_cell(
                db, notebook_id, message["cell_id"], message["position"]
            )
            return events.cell_moved(cell)
        if op == "delete_cell":
            await notebooks.delete_cell(db, notebook_id, message["cell_id"])
            return events.cell_deleted(message["cell_id"])
        notebook = await notebooks.load(db, notebook_id)
        notebook.title = message["title"][:500]
        await db.flush()
        return events.notebook_updated(notebook)

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


def _summary(op: str, message: dict[str, Any], notebook: Any) -> str:
    if op == "rename":
        return f"renamed to {message['title'][:80]!r}"
    if op == "insert_cell":
        return "inserted a cell"
    if op == "delete_cell":
        return "deleted a cell"
    if op == "move_cell":
        return "moved a cell"
    position = next((c.position for c in notebook.cells if c.id == message["cell_id"]), None)
    return f"edited cell {position + 1}" if position is not None else "edited a cell"
