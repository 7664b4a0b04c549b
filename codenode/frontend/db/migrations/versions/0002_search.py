"""Full-text search: ``search_documents`` and, per database, its index.

SQLite: an FTS5 table over ``search_documents`` (external content) kept in step by triggers.
PostgreSQL: a generated ``tsvector`` column with a GIN index. Existing notebooks are indexed
here; from then on ``codenode.frontend.search.index`` keeps them up to date.

Revision ID: 0002
Revises: 0001
Created: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    """
    CREATE TABLE search_documents (
        id INTEGER PRIMARY KEY,
        notebook_id VARCHAR(36) NOT NULL UNIQUE REFERENCES notebooks (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        body TEXT NOT NULL
    )
    """,
    """
    CREATE VIRTUAL TABLE search_index USING fts5 (
        title, body, content='search_documents', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
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
    """
    INSERT INTO search_documents (notebook_id, title, body)
    SELECT n.id, n.title, substr(COALESCE(
        (SELECT group_concat(source, char(10))
         FROM (SELECT source FROM cells WHERE notebook_id = n.id ORDER BY position)), ''),
        1, 100000)
    FROM notebooks n
    """,
]

SQLITE_DOWN = [
    "DROP TRIGGER search_documents_update",
    "DROP TRIGGER search_documents_delete",
    "DROP TRIGGER search_documents_insert",
    "DROP TABLE search_index",
    "DROP TABLE search_documents",
]

POSTGRESQL_UP = [
    """
    CREATE TABLE search_documents (
        notebook_id VARCHAR(36) PRIMARY KEY REFERENCES notebooks (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        document TSVECTOR GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', title), 'A') ||
            setweight(to_tsvector('simple', body), 'B')
        ) STORED
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

POSTGRESQL_DOWN = ["DROP TABLE search_documents"]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Existing notebooks are indexed as search.index would (at most 100,000 characters).
    for statement in SQLITE_UP if sqlite else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWN if sqlite else POSTGRESQL_DOWN:
        op.execute(statement)
