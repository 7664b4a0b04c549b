"""Full-text search over notebooks: titles and cell sources, on SQLite and PostgreSQL alike.

Each notebook has one row in ``search_documents`` (its title, and its cells' sources joined),
rewritten by ``index`` whenever the notebook changes (``notebooks.changed`` calls it). The
database does the rest, differently on each:

- **SQLite**: an FTS5 table ``search_index`` over ``search_documents`` (external content),
  kept in step by triggers; ranked by bm25.
- **PostgreSQL**: a generated ``tsvector`` column with a GIN index, ``'simple'``
  configuration (no stemming, no stop words: code identifiers match as written); ranked by
  ``ts_rank``.

Migration 0002 creates these by hand; they are not in the models. A deleted notebook's row goes
with it (``ON DELETE CASCADE``, and on SQLite a trigger clears the FTS entry), however the
notebook is deleted.

User input never reaches a query language: only its words are kept (``words``), quoted on
SQLite and handed to ``plainto_tsquery`` on PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.db import Notebook

TABLE_PREFIX = "search_"
"""Every table (and FTS5 shadow table) that search owns starts with this."""

BODY_CHARS = 100_000
"""Indexed text per notebook: PostgreSQL refuses a tsvector over 1 MB, and a notebook's
first 100,000 characters of source say what it is about."""

RESULTS = 50

# Match markers inside snippets; taken out again before answering (``Hit.matches``).
_START, _STOP = "\x02", "\x03"
_WORD = re.compile(r"\w+")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic's comparison with the models: search's tables are made by migration 0002,
    not by the models, so the comparison leaves them out."""
    return not (type_ == "table" and name is not None and name.startswith(TABLE_PREFIX))


def words(query: str) -> list[str]:
    """The words of a user's query: runs of letters, digits and underscores."""
    return _WORD.findall(query)


def document(notebook: Notebook) -> tuple[str, str]:
    """What is indexed of a notebook (cells loaded): its title, and its cells' sources."""
    body = "\n".join(cell.source for cell in notebook.cells)
    return notebook.title, body[:BODY_CHARS]


async def index(db: AsyncSession, notebook: Notebook) -> None:
    """Bring the notebook's entry up to date (its cells must be loaded). Not committed."""
    title, body = document(notebook)
    values = {"id": notebook.id, "title": title, "body": body}
    # Unchanged text is not rewritten: on SQLite every rewrite also rewrites the FTS entry.
    updated = await db.execute(
        text(
            "UPDATE search_documents SET title = :title, body = :body "
            "WHERE notebook_id = :id AND (title <> :title OR body <> :body)"
        ),
        values,
    )
    if getattr(updated, "rowcount", 0) == 0:
        await db.execute(
            text(
                "INSERT INTO search_documents (notebook_id, title, body) "
                "VALUES (:id, :title, :body) ON CONFLICT (notebook_id) DO NOTHING"
            ),
            values,
        )


@dataclass(frozen=True)
class Hit:
    """One notebook found: its id and title, and a snippet of its source around the match."""

    notebook_id: str
    title: str
    snippet: str
    matches: list[tuple[int, int]]
    """(start, end) of each matching word in ``snippet``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "notebook_id": self.notebook_id,
            "title": self.title,
            "snippet": self.snippet,
            "matches": [list(match) for match in self.matches],
        }


def unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet without its match markers, and where the marked words are in it."""
    plain: list[str] = []
    matches: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for part in re.split(f"([{_START}{_STOP}])", marked):
        if part == _START:
            start = length
        elif part == _STOP:
            if start is not None and length > start:
                matches.append((start, length))
            start = None
        else:
            plain.append(part)
            length += len(part)
    return "".join(plain), matches


# Who may find a notebook: its owner and those it is shared with; the trash is not searched.
_VISIBLE = (
    "n.location <> 'trash' AND (n.owner_id = :user OR EXISTS "
    "(SELECT 1 FROM shares s WHERE s.notebook_id = n.id AND s.user_id = :user))"
)

_SQLITE = f"""
SELECT d.notebook_id, n.title,
       snippet(search_index, 1, char(2), char(3), '…', 16) AS snippet
FROM search_index
JOIN search_documents d ON d.id = search_index.rowid
JOIN notebooks n ON n.id = d.notebook_id
WHERE search_index MATCH :query AND {_VISIBLE}
ORDER BY bm25(search_index, 10.0, 1.0), n.updated DESC
LIMIT :limit
"""

_POSTGRESQL = f"""
SELECT d.notebook_id, n.title,
       ts_headline('simple', d.body, q.query,
                   'StartSel=' || chr(2) || ', StopSel=' || chr(3) ||
                   ', MinWords=6, MaxWords=20, MaxFragments=2, FragmentDelimiter=" … "')
           AS snippet
FROM search_documents d
JOIN notebooks n ON n.id = d.notebook_id
CROSS JOIN plainto_tsquery('simple', :query) AS q(query)
WHERE d.document @@ q.query AND {_VISIBLE}
ORDER BY ts_rank(d.document, q.query) DESC, n.updated DESC
LIMIT :limit
"""


async def find(db: AsyncSession, user_id: int, query: str, limit: int = RESULTS) -> list[Hit]:
    """The notebooks *user_id* may read that contain every word of *query*, best first."""
    found = words(query)
    if not found:
        return []
    if db.get_bind().dialect.name == "sqlite":
        # Each word a quoted FTS5 string: no operator, column filter or syntax error possible.
        statement, query = _SQLITE, " ".join(f'"{word}"' for word in found)
    else:
        statement, query = _POSTGRESQL, " ".join(found)
    rows = await db.execute(text(statement), {"query": query, "user": user_id, "limit": limit})
    hits = []
    for notebook_id, title, marked in rows:
        snippet, matches = unmark(marked or "")
        hits.append(Hit(notebook_id, title, snippet, matches))
    return hits
