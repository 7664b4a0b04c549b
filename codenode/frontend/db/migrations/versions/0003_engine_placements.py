"""Engine placements: which backend and engine a notebook's engine is, so that a restarted
frontend adopts it (codenode/frontend/bus/placements.py).

Revision ID: 0003
Revises: 0002
Created: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engine_placements",
        sa.Column("notebook_id", sa.String(length=36), nullable=False),
        sa.Column("backend_id", sa.Integer(), nullable=False),
        sa.Column("engine_id", sa.String(length=200), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["backend_id"],
            ["backends.id"],
            name=op.f("fk_engine_placements_backend_id_backends"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notebook_id"],
            ["notebooks.id"],
            name=op.f("fk_engine_placements_notebook_id_notebooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notebook_id", name=op.f("pk_engine_placements")),
    )


def downgrade() -> None:
    op.drop_table("engine_placements")
