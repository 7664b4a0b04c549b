"""The outputs of a notebook's running cells, kept here while they run and written to the
database in batches (``flush``, every ``output_flush_seconds``): a tab that connects gets them
laid over the stored notebook, and what reached the database survives the frontend."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codenode.frontend import notebooks
from codenode.frontend.bus.outputs import CellOutputs


class RunningCells:
    """Each cell's latest evaluation's outputs, by cell id, until all of them are stored."""

    def __init__(self, cap: int) -> None:
        self.cap = cap  # characters of output stored per cell
        self.cells: dict[str, CellOutputs] = {}

    def __bool__(self) -> bool:
        return bool(self.cells)

    def get(self, cell_id: str) -> CellOutputs | None:
        """The cell's latest evaluation's outputs, if not all stored yet."""
        return self.cells.get(cell_id)

    def start(self, cell_id: str) -> CellOutputs:
        """The cell runs again: new outputs, and its old ones are cleared at the next flush."""
        self.drop(cell_id)
        outputs = CellOutputs(self.cap)
        outputs.dirty = True
        self.cells[cell_id] = outputs
        return outputs

    def drop(self, cell_id: str) -> None:
        """Keep nothing more of the cell's evaluation (it was deleted, or runs anew)."""
        outputs = self.cells.pop(cell_id, None)
        if outputs is not None:
            outputs.current = False

    def clear(self) -> None:
        """Keep nothing more of any cell (the notebook was deleted)."""
        for cell_id in list(self.cells):
            self.drop(cell_id)

    async def flush(self, sessions: async_sessionmaker[AsyncSession], notebook_id: str) -> None:
        """Write every running cell's new outputs; forget the cells that finished."""
        dirty = [(cell_id, out) for cell_id, out in self.cells.items() if out.dirty]
        if not dirty:
            return
        for _, outputs in dirty:
            outputs.dirty = False  # before the write: outputs that come during it are new
        try:
            async with sessions() as db:
                await notebooks.lock(db, notebook_id)  # writers of one notebook take turns
                for cell_id, outputs in dirty:
                    await notebooks.set_outputs(
                        db, cell_id, list(outputs.items), outputs.execution_count
                    )
                await db.commit()
        except BaseException:
            # Not stored: the next flush tries again (a finished cell's last outputs would
            # otherwise never reach the database).
            for _, outputs in dirty:
                outputs.dirty = True
            raise
        for cell_id, outputs in dirty:
            if outputs.finished and not outputs.dirty and self.cells.get(cell_id) is outputs:
                del self.cells[cell_id]
