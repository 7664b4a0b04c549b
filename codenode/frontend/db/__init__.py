"""The frontend's database: typed models, the async engine and Alembic migrations.

SQLite (WAL) in the environment folder by default; PostgreSQL by URL at scale. See
docs/database.md.
"""

from codenode.frontend.db.database import create_engine, default_url, session_factory, upgrade
from codenode.frontend.db.models import (
    CELL_KINDS,
    SHARE_ROLES,
    Backend,
    Base,
    Cell,
    EnginePlacement,
    Notebook,
    Revision,
    Share,
    User,
)

__all__ = [
    "CELL_KINDS",
    "SHARE_ROLES",
    "Backend",
    "Base",
    "Cell",
    "EnginePlacement",
    "Notebook",
    "Revision",
    "Share",
    "User",
    "create_engine",
    "default_url",
    "session_factory",
    "upgrade",
]
