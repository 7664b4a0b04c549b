"""Bounded types for what the routes take from a path, a query or a body.

An integer from a URL is as long as the client likes; unbounded, 2**63 reaches the database
and fails there (OverflowError from SQLite, out of range from PostgreSQL) as a 500. Row ids
are bounded by the id columns (PostgreSQL's ``integer``), offsets by SQL's 64-bit ``OFFSET``:
anything else is a 422 with the usual error body, before the database is asked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ROW_ID = 2**31 - 1
"""The largest id the id columns hold (``integer`` on PostgreSQL, the narrower database)."""
MAX_OFFSET = 2**63 - 1
"""The largest ``OFFSET`` SQLite and PostgreSQL take (a signed 64-bit integer)."""

RowId = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]
"""A user's or a revision's id in a path."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
"""How many rows of a listing to skip."""

ENGINE_TYPE_NAME = r"^[a-z0-9._-]{1,64}$"
"""An engine type's name, as a backend's plug-in declares it (``codenode.backend.enginetype``:
1-64 of ``NAME_CHARACTERS``, lowercase letters, digits, '-', '_' and '.')."""
ENGINE_TYPE_RULE = "an engine type is a name of 1-64 lowercase letters, digits, '-', '_' or '.'"

EngineTypeName = Annotated[str, Field(pattern=ENGINE_TYPE_NAME, description=ENGINE_TYPE_RULE)]


def is_engine_type_name(name: str) -> bool:
    """Whether *name* is a name an engine type can have (``ENGINE_TYPE_NAME``)."""
    return 0 < len(name) <= 64 and set(name) <= _NAME_CHARACTERS


_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
