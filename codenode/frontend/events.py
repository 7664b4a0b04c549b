"""The messages the frontend sends to every tab that has a notebook open (the bus, outward).

REST routes and the bus both change notebooks; both tell the open tabs with these, through
``Hub.notify``. The bus protocol is documented in docs/bus.md.

Stored outputs of a cell are a list of:

- ``{"type": "stream", "name": "stdout" | "stderr", "text": str}`` (consecutive chunks of one
  stream are merged);
- ``{"type": "display", "data": {mime type: str}}`` (images base64-encoded, as the engine sends
  them);
- ``{"type": "error", "ename": str, "evalue": str, "traceback": str}``.
"""

from __future__ import annotations

from typing import Any

from codenode.frontend.db import Cell, Notebook
from codenode.frontend.notebooks import cell_dict, notebook_dict

Event = dict[str, Any]


def cell_inserted(cell: Cell) -> Event:
    return {"type": "cell_inserted", "cell": cell_dict(cell), "position": cell.position}


def cell_updated(cell: Cell) -> Event:
    """A cell's source or kind changed (outputs travel as output events)."""
    return {"type": "cell_updated", "cell_id": cell.id, "kind": cell.kind, "source": cell.source}


def cell_moved(cell: Cell) -> Event:
    return {"type": "cell_moved", "cell_id": cell.id, "position": cell.position}


def cell_deleted(cell_id: str) -> Event:
    return {"type": "cell_deleted", "cell_id": cell_id}


def notebook_updated(notebook: Notebook) -> Event:
    """Title, engine type, location or public link changed."""
    return {"type": "notebook_updated", "notebook": notebook_dict(notebook)}


def notebook_replaced() -> Event:
    """The cells changed wholesale (a revert): tabs should take the whole notebook again; the
    bus follows this with a ``notebook`` message carrying it."""
    return {"type": "notebook_replaced"}
