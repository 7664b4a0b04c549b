"""The fault suite: each tier killed, flooded or left behind, on real processes, and what the
user sees afterwards (issue 13). The fixtures are the backend and frontend tests' own: a real
backend process, a real frontend on SQLite and on PostgreSQL where one answers."""

from __future__ import annotations

from tests.backend.conftest import backend, plugins
from tests.frontend.conftest import (
    database_url,
    empty_database_url,
    frontend,
    frontend_database,
    live_backend,
    migrated_sqlite,
)

__all__ = [
    "backend",
    "database_url",
    "empty_database_url",
    "frontend",
    "frontend_database",
    "live_backend",
    "migrated_sqlite",
    "plugins",
]
