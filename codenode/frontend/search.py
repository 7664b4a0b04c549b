"""Full-text search over notebooks: titles and cell sources, on SQLite and PostgreSQL alike.

``search_documents`` holds one row per cell (its source, in ``body``) and one per notebook (its
title, the row without a cell), so that a change re-indexes what it changed: an edit of a cell
its row (``index_cell``), a rename the title's (``index_title``); ``index`` brings a whole
notebook in step, rewriting only the rows that differ. A notebook is found when each word of
the query is in its title or one of its cells. The database does the rest, differently on
each:

- **SQLite**: an FTS5 table ``search_index`` over ``search_documents`` (external content),
  kept in step by triggers; ranked by bm25 (a title counts ten times a cell).
- **PostgreSQL**: a generated ``tsvector`` column with a GIN index, ``'simple'``
  configuration (no stemming, no stop words: code identifiers match as written); ranked by
  ``ts_rank`` (titles weigh A, cells B).

Migration 0005 creates these by hand (0002 made the first, one row per notebook); they are
not in the models. A deleted cell or notebook takes its rows with it (``ON DELETE CASCADE``,
and on SQLite a trigger clears the FTS entry), however it is deleted.

User input never reaches a query language: only its words are kept (``words``), quoted on
SQLite and handed to ``plainto_tsquery`` one by one on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.db import Notebook

TABLE_PREFIX = "search_"
"""Every table (and FTS5 shadow table) that search owns starts with this."""

BODY_CHARS = 100_000
"""Indexed text per cell: PostgreSQL refuses a tsvector over 1 MB, and a cell's first
100,000 characters say what it is about."""

RESULTS = 50
SNIPPET_CHARS = 120  # of a notebook found by its title alone: the start of its first cell

# Match markers inside snippets; taken out again before answering (``Hit.matches``).
_START, _STOP = "\x02", "\x03"
_WORD = re.compile(r"\w+")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic's comparison with the models: search's tables are made by migrations 0002
    and 0005, not by the models, so the comparison leaves them out."""
    return not (type_ == "table" and name is not None and name.startswith(TABLE_PREFIX))


def words(query: str) -> list[str]:
    """The words of a user's query: runs of letters, digits and underscores."""
    return _WORD.findall(query)


# Only text that differs is rewritten: on SQLite every rewrite also rewrites the FTS entry.
_SET_TITLE = text(
    "UPDATE search_documents SET title = :title "
    "WHERE notebook_id = :notebook AND cell_id IS NULL AND title <> :title"
)
_ADD_TITLE = text(
    "INSERT INTO search_documents (notebook_id, title) VALUES (:notebook, :title) "
    "ON CONFLICT (notebook_id) WHERE cell_id IS NULL DO NOTHING"
)
_SET_BODY = text("UPDATE search_documents SET body = :body WHERE cell_id = :cell AND body <> :body")
_ADD_BODY = text(
    "INSERT INTO search_documents (notebook_id, cell_id, body) VALUES (:notebook, :cell, :body) "
    "ON CONFLICT (cell_id) DO NOTHING"
)


async def index_title(db: AsyncSession, notebook_id: str, title: str) -> None:
    """The notebook's title as it is now. Not committed."""
    values = {"notebook": notebook_id, "title": title}
    if getattr(await db.execute(_SET_TITLE, values), "rowcount", 0) == 0:
        await db.execute(_ADD_TITLE, values)


async def index_cell(db: AsyncSession, notebook_id: str, cell_id: str, source: str) -> None:
    """A cell's source as it is now (the cell must be stored: flushed). Not committed."""
    values = {"notebook": notebook_id, "cell": cell_id, "body": source[:BODY_CHARS]}
    if getattr(await db.execute(_SET_BODY, values), "rowcount", 0) == 0:
        await db.execute(_ADD_BODY, values)


async def index(db: AsyncSession, notebook: Notebook) -> None:
    """Bring the whole notebook's entries in step (its cells loaded and flushed): only the
    rows whose text differs are rewritten. Not committed."""
    rows = await db.execute(
        text("SELECT cell_id, title, body FROM search_documents WHERE notebook_id = :notebook"),
        {"notebook": notebook.id},
    )
    stored = {cell_id: (title, body) for cell_id, title, body in rows}
    if stored.get(None, (None,))[0] != notebook.title:
        await index_title(db, notebook.id, notebook.title)
    for cell in notebook.cells:
        known = stored.pop(cell.id, None)
        if known is None or known[1] != cell.source[:BODY_CHARS]:
            await index_cell(db, notebook.id, cell.id, cell.source)
    stored.pop(None, None)
    if stored:  # rows of cells gone (their cascade took them, unless they moved away)
        await db.execute(
            text("DELETE FROM search_documents WHERE cell_id IN :gone").bindparams(
                bindparam("gone", expanding=True)
            ),
            {"gone": list(stored)},
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

# A notebook is found when every word is in some row of it: the rows matching each word are
# grouped by notebook, and a notebook that has all the words is ranked by the best row of each.
_SQLITE = f"""
WITH words(i, word) AS (SELECT key, value FROM json_each(:words)),
matched AS (
    SELECT d.notebook_id AS notebook_id, w.i AS i, min(search_index.rank) AS score
    FROM words w
    CROSS JOIN search_index ON search_index MATCH w.word
        AND search_index.rank MATCH 'bm25(10.0, 1.0)'
    JOIN search_documents d ON d.id = search_index.rowid
    GROUP BY d.notebook_id, w.i
)
SELECT n.id, n.title
FROM matched m JOIN notebooks n ON n.id = m.notebook_id
WHERE {_VISIBLE}
GROUP BY n.id, n.title, n.updated
HAVING count(*) = :count
ORDER BY sum(m.score), n.updated DESC
LIMIT :limit
"""

# Of each notebook found, its cell that matches best, around the words.
_SQLITE_SNIPPETS = text(
    """
SELECT d.notebook_id, snippet(search_index, 1, char(2), char(3), '…', 16)
FROM search_index
JOIN search_documents d ON d.id = search_index.rowid
WHERE search_index MATCH :any AND d.cell_id IS NOT NULL AND d.notebook_id IN :found
ORDER BY search_index.rank
"""
).bindparams(bindparam("found", expanding=True))

_POSTGRESQL_ASKED = """
WITH asked AS (
    SELECT w.i, plainto_tsquery('simple', w.word) AS query
    FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(word, i)
    WHERE numnode(plainto_tsquery('simple', w.word)) > 0
)
"""

_POSTGRESQL = f"""
{_POSTGRESQL_ASKED},
matched AS (
    SELECT d.notebook_id, a.i, max(ts_rank(d.document, a.query)) AS score
    FROM asked a JOIN search_documents d ON d.document @@ a.query
    GROUP BY d.notebook_id, a.i
)
SELECT n.id, n.title
FROM matched m JOIN notebooks n ON n.id = m.notebook_id
WHERE {_VISIBLE}
GROUP BY n.id, n.title, n.updated
HAVING count(*) = (SELECT count(*) FROM asked)
ORDER BY sum(m.score) DESC, n.updated DESC
LIMIT :limit
"""

_POSTGRESQL_SNIPPETS = text(
    f"""
{_POSTGRESQL_ASKED},
q AS (SELECT CAST(string_agg(CAST(query AS text), ' | ') AS tsquery) AS query FROM asked)
SELECT DISTINCT ON (d.notebook_id) d.notebook_id,
       ts_headline('simple', d.body, q.query,
                   'StartSel=' || chr(2) || ', StopSel=' || chr(3) ||
                   ', MinWords=6, MaxWords=20, MaxFragments=2, FragmentDelimiter=" … "')
FROM search_documents d CROSS JOIN q
WHERE d.notebook_id = ANY(CAST(:found AS varchar[])) AND d.cell_id IS NOT NULL
  AND d.document @@ q.query
ORDER BY d.notebook_id, ts_rank(d.document, q.query) DESC
"""
)

# A notebook found by its title alone: the opening of its first cell that has text.
_OPENINGS = text(
    f"""
SELECT c.notebook_id, substr(c.source, 1, {SNIPPET_CHARS})
FROM cells c
WHERE c.notebook_id IN :found AND c.position = (
    SELECT min(first.position) FROM cells first
    WHERE first.notebook_id = c.notebook_id AND first.source <> ''
)
"""
).bindparams(bindparam("found", expanding=True))
_OPENING_WORDS = 16


async def find(db: AsyncSession, user_id: int, query: str, limit: int = RESULTS) -> list[Hit]:
    """The notebooks *user_id* may read that have every word of *query* in their title or
    their cells, best first."""
    # Words without a letter or digit ("_") are no word to either database: left out.
    found = list(dict.fromkeys(w for w in words(query) if any(c.isalnum() for c in w)))
    if not found:
        return []
    sqlite = db.get_bind().dialect.name == "sqlite"
    if sqlite:
        # Each word a quoted FTS5 string: no operator, column filter or syntax error possible.
        quoted = [f'"{word}"' for word in found]
        asked: dict[str, Any] = {"words": json.dumps(quoted), "count": len(quoted)}
        statement = _SQLITE
    else:
        asked, statement = {"words": found}, _POSTGRESQL
    rows = list(await db.execute(text(statement), {**asked, "user": user_id, "limit": limit}))
    if not rows:
        return []
    ids = [notebook_id for notebook_id, _ in rows]
    if sqlite:
        snippets = await db.execute(_SQLITE_SNIPPETS, {"any": " OR ".join(quoted), "found": ids})
    else:
        snippets = await db.execute(_POSTGRESQL_SNIPPETS, {"words": found, "found": ids})
    marked: dict[str, str] = {}
    for notebook_id, snippet in snippets:
        marked.setdefault(notebook_id, snippet or "")
    alone = [notebook_id for notebook_id in ids if notebook_id not in marked]
    if alone:
        for notebook_id, opening in await db.execute(_OPENINGS, {"found": alone}):
            marked[notebook_id] = _opening(opening or "")
    hits = []
    for notebook_id, title in rows:
        snippet, matches = unmark(marked.get(notebook_id, ""))
        hits.append(Hit(notebook_id, title, snippet, matches))
    return hits


def _opening(source: str) -> str:
    """The first words of a cell, as a snippet of no match shows them."""
    ends = [match.end() for match in _WORD.finditer(source)]
    if len(ends) > _OPENING_WORDS:
        return source[: ends[_OPENING_WORDS - 1]] + "…"
    return source + "…" if len(source) >= SNIPPET_CHARS else source
