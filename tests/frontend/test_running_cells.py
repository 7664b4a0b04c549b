"""Running cells' outputs reach the database even when a write fails once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from codenode.frontend.bus.running import RunningCells


class FailingOnce:
    """A session factory whose first session fails on its first statement."""

    def __init__(self) -> None:
        self.calls = 0
        self.stored: list[tuple[str, Any]] = []

    def __call__(self) -> FailingOnce:
        self.calls += 1
        return self

    async def __aenter__(self) -> FailingOnce:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def get_bind(self) -> None:
        if self.calls == 1:
            raise ConnectionError("the database went away")


def test_a_failed_write_of_a_finished_cell_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from codenode.frontend import notebooks

    factory = FailingOnce()

    async def lock(db: FailingOnce, notebook_id: str) -> None:
        db.get_bind()

    async def set_outputs(db: FailingOnce, cell_id: str, items: Any, count: Any) -> None:
        db.stored.append((cell_id, items))

    async def commit() -> None:
        return None

    monkeypatch.setattr(notebooks, "lock", lock)
    monkeypatch.setattr(notebooks, "set_outputs", set_outputs)
    factory.commit = commit  # type: ignore[attr-defined]
    running = RunningCells(cap=1000)
    outputs = running.start("c1")
    outputs.finished = True
    with pytest.raises(ConnectionError):
        asyncio.run(running.flush(factory, "nb"))  # type: ignore[arg-type]
    assert running.get("c1") is outputs and outputs.dirty  # kept, to be written again
    asyncio.run(running.flush(factory, "nb"))  # type: ignore[arg-type]
    assert [cell for cell, _ in factory.stored] == ["c1"]
    assert running.get("c1") is None  # stored: forgotten
