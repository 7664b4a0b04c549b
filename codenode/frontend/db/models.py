"""The tables the frontend keeps: users, notebooks, their cells, shares and revisions, backends.

Relationships load with ``lazy="raise"``: in async code an implicit load would be hidden I/O,
so every query says what it loads (``selectinload(Notebook.cells)``). Deletes cascade in the
database itself (``ON DELETE CASCADE``), so a bulk ``delete(Notebook)`` cleans up as well as
``session.delete(notebook)`` does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

CELL_KINDS = ("code", "markdown", "title", "subtitle", "section", "subsection")
"""A cell holds code, markdown, or a heading; headings group the cells below them."""

SHARE_ROLES = ("viewer", "collaborator")
"""A viewer reads; a collaborator also edits and runs."""

# Named constraints, so that later migrations can drop or alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression: *column* holds one of *values*."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Base(DeclarativeBase):
    """The declarative base of every Codenode table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[dict[str, Any]]: JSON,
    }


class User(Base):
    """Someone who signs in; owns notebooks and may be shared others'."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(default=_now)
    # Sessions made before this no longer sign anyone in: set when the user signs out.
    sessions_after: Mapped[datetime | None] = mapped_column(default=None)

    notebooks: Mapped[list[Notebook]] = relationship(
        back_populates="owner", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class Notebook(Base):
    """A notebook: its title, owner and engine type, and where it sits on the bookshelf.

    ``location`` is the name of one of the owner's folders (``""`` for the top of the
    bookshelf), or ``"trash"``, or ``"archive"``.
    """

    __tablename__ = "notebooks"
    __table_args__ = (Index(None, "owner_id", "location"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    title: Mapped[str] = mapped_column(String(500), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    engine_type: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(default=_now)
    updated: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
    location: Mapped[str] = mapped_column(String(200), default="")
    public_link: Mapped[bool] = mapped_column(Boolean, default=False)

    owner: Mapped[User] = relationship(back_populates="notebooks", lazy="raise")
    cells: Mapped[list[Cell]] = relationship(
        back_populates="notebook",
        order_by="Cell.position",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    shares: Mapped[list[Share]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    revisions: Mapped[list[Revision]] = relationship(
        order_by="Revision.created",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Cell(Base):
    """One cell of a notebook, at its position; outputs are stored with it."""

    __tablename__ = "cells"
    __table_args__ = (
        # One cell per place: the order of a notebook is never ambiguous.
        UniqueConstraint("notebook_id", "position"),
        CheckConstraint(_one_of("kind", CELL_KINDS), name="kind"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="code")
    source: Mapped[str] = mapped_column(Text, default="")
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    execution_count: Mapped[int | None] = mapped_column(Integer)

    notebook: Mapped[Notebook] = relationship(back_populates="cells", lazy="raise")


class Share(Base):
    """A notebook shared with a user, as a viewer or a collaborator."""

    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint(_one_of("role", SHARE_ROLES), name="role"),
        # "Notebooks shared with me" is asked by user.
        Index(None, "user_id"),
    )

    notebook_id: Mapped[str] = mapped_column(
        ForeignKey("notebooks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20))


class Revision(Base):
    """A saved state of a notebook: who, when, a one-line summary and the whole snapshot."""

    __tablename__ = "revisions"
    __table_args__ = (Index(None, "notebook_id", "created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(default=_now)
    # A revision outlives its author's account.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(String(500), default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column()


class Backend(Base):
    """A backend the frontend starts engines on.

    ``token`` is the backend's bearer token: it never appears in an API answer.
    """

    __tablename__ = "backends"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    token: Mapped[str] = mapped_column(String(500))

    def __repr__(self) -> str:
        # Keeps the token out of logs and tracebacks too.
        return f"Backend(id={self.id!r}, name={self.name!r}, url={self.url!r})"


class EnginePlacement(Base):
    """Where a notebook's engine runs: a frontend that restarts, or another on the same
    database, finds the engine again (its variables with it) instead of starting a new one.
    One row per notebook with a bound engine; gone when the engine is stopped."""

    __tablename__ = "engine_placements"

    notebook_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("notebooks.id", ondelete="CASCADE"), primary_key=True
    )
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id", ondelete="CASCADE"))
    engine_id: Mapped[str] = mapped_column(String(200))
    started: Mapped[datetime] = mapped_column(default=_now)

    def __repr__(self) -> str:
        where = f"backend={self.backend_id}, engine={self.engine_id!r}"
        return f"EnginePlacement({self.notebook_id!r}, {where})"
