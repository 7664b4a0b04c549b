"""Search by cell: ``search_documents`` holds a row per cell (its source) and one per notebook
(its title), so that an edit re-indexes the one cell it changed, not the whole notebook.

Each row names its notebook, and a cell row its cell (``ON DELETE CASCADE`` from both: a
deleted cell or notebook takes its rows, and on SQLite the FTS entry, with it). The title row
is the notebook's one row without a cell (a partial unique index). Everything is indexed again
from the notebooks and cells as they stand; the downgrade makes the rows per notebook of 0002.

Revision ID: 0005
Revises: 0004
Created: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BODY_CHARS = 100_000  # indexed characters per cell, as search.BODY_CHARS

SQLITE_TRIGGERS = [
    # An FTS5 table with external content must be told the old text to forget it.
    """
    CREATE TRIGGER search_documents_insert AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_index (rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_index (search_index, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    """
    CREATE TRIGGER search_documents_update AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_index (search_index, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO search_index (rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER search_documents_update",
    "DROP TRIGGER search_documents_delete",
    "DROP TRIGGER search_documents_insert",
    "DROP TABLE search_index",
    "DROP TABLE search_documents",
]

SQLITE_FTS = """
    CREATE VIRTUAL TABLE search_index USING fts5 (
        title, body, content='search_documents', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
"""

SQLITE_UP = [
    *SQLITE_DROP,
    """
    CREATE TABLE search_documents (
        id INTEGER PRIMARY KEY,
        notebook_id VARCHAR(36) NOT NULL REFERENCES notebooks (id) ON DELETE CASCADE,
        cell_id VARCHAR(36) UNIQUE REFERENCES cells (id) ON DELETE CASCADE,
        title TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX search_documents_notebook ON search_documents (notebook_id)",
    """
    CREATE UNIQUE INDEX search_documents_title ON search_documents (notebook_id)
    WHERE cell_id IS NULL
    """,
    SQLITE_FTS,
    *SQLITE_TRIGGERS,
    "INSERT INTO search_documents (notebook_id, title) SELECT id, title FROM notebooks",
    f"""
    INSERT INTO search_documents (notebook_id, cell_id, body)
    SELECT notebook_id, id, substr(source, 1, {BODY_CHARS}) FROM cells
    """,
]

SQLITE_DOWN = [
    *SQLITE_DROP,
    """
    CREATE TABLE search_documents (
        id INTEGER PRIMARY KEY,
        notebook_id VARCHAR(36) NOT NULL UNIQUE REFERENCES notebooks (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        body TEXT NOT NULL
    )
    """,
    SQLITE_FTS,
    *SQLITE_TRIGGERS,
    """
    INSERT INTO search_documents (notebook_id, title, body)
    SELECT n.id, n.title, substr(COALESCE(
        (SELECT group_concat(source, char(10))
         FROM (SELECT source FROM cells WHERE notebook_id = n.id ORDER BY position)), ''),
        1, 100000)
    FROM notebooks n
    """,
]

POSTGRESQL_DOCUMENT = """
    document TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', body), 'B')
    ) STORED
"""

POSTGRESQL_UP = [
    "DROP TABLE search_documents",
    f"""
    CREATE TABLE search_documents (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        notebook_id VARCHAR(36) NOT NULL REFERENCES notebooks (id) ON DELETE CASCADE,
        cell_id VARCHAR(36) UNIQUE REFERENCES cells (id) ON DELETE CASCADE,
        title TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT '',
        {POSTGRESQL_DOCUMENT}
    )
    """,
    "CREATE INDEX search_documents_document ON search_documents USING gin (document)",
    "CREATE INDEX search_documents_notebook ON search_documents (notebook_id)",
    """
    CREATE UNIQUE INDEX search_documents_title ON search_documents (notebook_id)
    WHERE cell_id IS NULL
    """,
    "INSERT INTO search_documents (notebook_id, title) SELECT id, title FROM notebooks",
    f"""
    INSERT INTO search_documents (notebook_id, cell_id, body)
    SELECT notebook_id, id, left(source, {BODY_CHARS}) FROM cells
    """,
]

POSTGRESQL_DOWN = [
    "DROP TABLE search_documents",
    f"""
    CREATE TABLE search_documents (
        notebook_id VARCHAR(36) PRIMARY KEY REFERENCES notebooks (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        {POSTGRESQL_DOCUMENT}
    )
    """,
    "CREATE INDEX search_documents_document ON search_documents USING gin (document)",
    """
    INSERT INTO search_documents (notebook_id, title, body)
    SELECT n.id, n.title, left(COALESCE(
        (SELECT string_agg(c.source, E'\\n' ORDER BY c.position)
         FROM cells c WHERE c.notebook_id = n.id), ''), 100000)
    FROM notebooks n
    """,
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_UP if sqlite else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWN if sqlite else POSTGRESQL_DOWN:
        op.execute(statement)
