"""`codenode backends add | list | remove` on a real database, against a real backend."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.conftest import TOKEN, Backend, python_plugin, start_backend
from tests.frontend.conftest import DATABASES, POSTGRES_URL, _reset_postgres
from tests.frontend.live import in_database, off_loop

WRONG_TOKEN = "wrong-token-" + "z" * 20


@pytest.fixture(scope="module")
def running_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp("backend")
    (folder / "plugins").mkdir()
    (folder / "plugins" / "python.py").write_text(python_plugin())
    backend = start_backend(folder / "plugins", folder)
    yield backend
    backend.close()


@pytest.fixture(params=DATABASES)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a `codenode` command: a fresh home and an empty database."""
    (tmp_path / "home").mkdir()
    values = {**os.environ, "CODENODE_HOME": str(tmp_path / "home")}
    values.pop("CODENODE_DATABASE_URL", None)
    if request.param == "sqlite":
        yield values
        return
    off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))
    try:
        yield {**values, "CODENODE_DATABASE_URL": POSTGRES_URL}
    finally:
        off_loop(asyncio.run, _reset_postgres(POSTGRES_URL))


def codenode(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "codenode", "backends", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for secret in (TOKEN, WRONG_TOKEN):
        assert secret not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def token_file(folder: Path, text: str) -> str:
    path = folder / "token"
    path.write_text(text)
    return str(path)


def test_add_list_remove(env: dict[str, str], running_backend: Backend, tmp_path: Path) -> None:
    # The file's newline (and spaces) are not part of the token.
    file = token_file(tmp_path, f" {TOKEN}\n")
    added = codenode(env, "add", "one", running_backend.url + "/", "--token-file", file)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(f"added backend one ({running_backend.url}): healthy, 0 engines")
    assert "types: python" in added.stdout
    listing = codenode(env, "list")
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()
    assert header.split() == ["NAME", "URL", "STATUS"]
    assert row.split()[:3] == ["one", running_backend.url, "healthy,"]
    removed = codenode(env, "remove", "one")
    assert removed.returncode == 0, removed.stderr
    assert "no backends registered" in codenode(env, "list").stdout


def test_the_database_holds_the_stripped_token(
    env: dict[str, str], running_backend: Backend, tmp_path: Path
) -> None:
    file = token_file(tmp_path, TOKEN + "\n\n")
    assert codenode(env, "add", "one", running_backend.url, "--token-file", file).returncode == 0
    url = (
        env.get("CODENODE_DATABASE_URL")
        or f"sqlite+aiosqlite:///{tmp_path / 'home' / 'codenode.db'}"
    )

    async def tokens(db: object) -> list[str]:
        from codenode.frontend.backends.registration import registered

        return [backend.token for backend in await registered(db)]  # type: ignore[arg-type]

    assert in_database(url, tokens) == [TOKEN]


def test_a_wrong_token_or_a_dead_address_is_told_but_kept(
    env: dict[str, str], running_backend: Backend, tmp_path: Path
) -> None:
    wrong = token_file(tmp_path, WRONG_TOKEN)
    added = codenode(env, "add", "wrong", running_backend.url, "--token-file", wrong)
    assert added.returncode == 0, added.stderr
    assert "down: 401: wrong token" in added.stdout
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert codenode(env, "add", "gone", nowhere, "--token-file", wrong).returncode == 0
    rows = codenode(env, "list").stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["gone", "wrong"]
    assert rows[0].endswith("down: connection refused")
    assert rows[1].endswith("down: 401: wrong token")


def test_clear_errors_and_exit_1(
    env: dict[str, str], running_backend: Backend, tmp_path: Path
) -> None:
    good = token_file(tmp_path, TOKEN)
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    cases = [
        (("add", "x", running_backend.url, "--token-file", str(empty)), "is empty"),
        (("add", "x", running_backend.url, "--token-file", str(tmp_path / "no")), "cannot read"),
        (("add", "x", "ftp://host", "--token-file", good), "http:// or https://"),
        (("add", "a b", running_backend.url, "--token-file", good), "bad backend name"),
        (("remove", "nothing"), "no backend named 'nothing'"),
    ]
    for args, said in cases:
        done = codenode(env, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
    assert codenode(env, "add", "x", running_backend.url, "--token-file", good).returncode == 0
    twice = codenode(env, "add", "x", running_backend.url, "--token-file", good)
    assert twice.returncode == 1 and "registered already" in twice.stderr
    assert len(codenode(env, "list").stdout.splitlines()) == 2  # header and x, nothing else


def test_a_missing_environment_is_told(tmp_path: Path) -> None:
    env = {**os.environ, "CODENODE_HOME": str(tmp_path / "nowhere")}
    env.pop("CODENODE_DATABASE_URL", None)
    done = codenode(env, "list")
    assert done.returncode == 1
    assert "run `codenode init` first" in done.stderr
    assert not (tmp_path / "nowhere").exists()
