"""The requests a notebook sent its engine and that wait for their answer, and how each ends
when the engine will never answer (it died, its backend was lost, it sent nonsense)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from codenode.frontend.bus.outputs import CellOutputs
from codenode.frontend.bus.tab import Tab, Tabs


@dataclass
class Pending:
    """A request sent to the engine, waiting for its answer: who asked, and for an
    evaluation, its cell and the outputs it gathers."""

    op: str
    tab: Tab | None
    tab_id: int | None
    cell_id: str | None = None
    outputs: CellOutputs | None = None

    def fail(self, tabs: Tabs, ename: str, why: str) -> None:
        """The engine will not answer: an evaluation ends with the error *ename* (every tab
        sees it), another request gets an error for the tab that asked."""
        if self.op == "evaluate":
            if self.cell_id and self.outputs:
                fail_evaluation(tabs, self.cell_id, self.outputs, ename, why)
        elif self.tab is not None:
            self.tab.send({"type": "error", "id": self.tab_id, "message": why})


def fail_evaluation(tabs: Tabs, cell_id: str, outputs: CellOutputs, ename: str, why: str) -> None:
    """An evaluation that the engine will never answer: the cell says why."""
    if outputs.current:
        outputs.error(ename, why, "")
    outputs.finished = True
    error = {"ename": ename, "evalue": why, "traceback": ""}
    tabs.broadcast({"type": "result", "cell_id": cell_id, "execution_count": None, "error": error})


class Requests:
    """Requests waiting for the engine, by the id the engine's answers carry."""

    def __init__(self) -> None:
        self.waiting: dict[int, Pending] = {}
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        """An id for a request that nobody waits on (an input reply)."""
        return next(self._ids)

    def add(self, pending: Pending) -> int:
        """Wait for an answer to *pending*; the id to send it with."""
        request_id = next(self._ids)
        self.waiting[request_id] = pending
        return request_id

    def get(self, request_id: Any) -> Pending | None:
        """The request the id names, still waiting."""
        return self.waiting.get(request_id) if isinstance(request_id, int) else None

    def take(self, request_id: Any) -> Pending | None:
        """The request answered for good: no longer waited for."""
        return self.waiting.pop(request_id, None) if isinstance(request_id, int) else None

    @property
    def evaluating(self) -> list[str]:
        """The cells whose evaluation was sent and has not ended, in the order sent."""
        return [p.cell_id for p in self.waiting.values() if p.op == "evaluate" and p.cell_id]

    @property
    def busy(self) -> bool:
        """An evaluation waits."""
        return any(p.op == "evaluate" for p in self.waiting.values())

    def fail_all(self, tabs: Tabs, why: str) -> None:
        """No answer will come to any of them: each ends with *why*."""
        for request_id, pending in list(self.waiting.items()):
            del self.waiting[request_id]
            pending.fail(tabs, "EngineDied", why)
