"""`codenode db upgrade`: the database migrated from the command line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from codenode.frontend.db.database import describe


def db_upgrade(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codenode", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_db_upgrade_creates_the_sqlite_database_in_the_home_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CODENODE_HOME": str(home)}
    env.pop("CODENODE_DATABASE_URL", None)
    for _ in range(2):  # safe to run twice
        done = db_upgrade(env)
        assert done.returncode == 0, done.stderr
        assert "newest schema" in done.stdout
    with sqlite3.connect(home / "codenode.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
    assert {"users", "notebooks", "cells", "alembic_version"} <= tables


def test_database_urls_are_shown_without_their_password() -> None:
    shown = describe("postgresql+asyncpg://codenode:s3cret@db.internal:5432/site")
    assert "s3cret" not in shown
    assert shown.startswith("postgresql+asyncpg://codenode:")
    assert shown.endswith("@db.internal:5432/site")


def test_db_upgrade_migrates_the_database_the_config_file_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere.db"
    (home / "codenode.toml").write_text(f'database-url = "sqlite+aiosqlite:///{elsewhere}"\n')
    env = {**os.environ, "CODENODE_HOME": str(home)}
    env.pop("CODENODE_DATABASE_URL", None)
    done = db_upgrade(env)
    assert done.returncode == 0, done.stderr
    assert str(elsewhere) in done.stdout
    assert elsewhere.exists() and not (home / "codenode.db").exists()
