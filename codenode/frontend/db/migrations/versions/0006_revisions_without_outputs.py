"""Revisions without outputs: each revision keeps the title, the engine type and its cells'
ids, kinds and sources; the outputs that revisions stored until now are dropped (they are
the cells', stored with them, and restoring a revision keeps each cell's current outputs).

Data only, in batches of 100 revisions. The downgrade changes nothing: outputs dropped do not
come back, and the code of before reads a revision without them (its cells come back empty).

Revision ID: 0006
Revises: 0005
Created: 2026-12-06
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 100
KEPT = ("id", "kind", "source")

revisions = sa.table("revisions", sa.column("id", sa.Integer), sa.column("snapshot", sa.JSON))


def written(snapshot: Any) -> Any:
    """The snapshot with each cell's id, kind and source only."""
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("cells"), list):
        return snapshot
    cells = [
        {k: v for k, v in cell.items() if k in KEPT} if isinstance(cell, dict) else cell
        for cell in snapshot["cells"]
    ]
    return {**snapshot, "cells": cells}


def upgrade() -> None:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(revisions.c.id, revisions.c.snapshot)
            .where(revisions.c.id > last)
            .order_by(revisions.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for revision_id, snapshot in rows:
            last = revision_id
            kept = written(snapshot)
            if kept != snapshot:
                bind.execute(
                    revisions.update().where(revisions.c.id == revision_id).values(snapshot=kept)
                )


def downgrade() -> None:
    pass
