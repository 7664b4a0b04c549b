"""`codenode adduser | passwd | deluser | users` on a real database, as real processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.db import Notebook, default_url
from codenode.frontend.users import authenticate, by_name
from tests.frontend.conftest import DATABASES, POSTGRES_URL, _reset_postgres
from tests.frontend.live import LiveFrontend, in_database, off_loop

PASSWORD = "a long enough password"


@pytest.fixture(params=DATABASES)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveFrontend]:
    """An environment whose `codenode` commands work on an empty database (not served)."""
    if request.param == "sqlite":
        url = default_url(tmp_path)
    else:
        url = POSTGRES_URL
        off_loop(asyncio.run, _reset_postgres(url))
    try:
        yield LiveFrontend(tmp_path / "home", url)
    finally:
        if request.param == "postgresql":
            off_loop(asyncio.run, _reset_postgres(url))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def password_of(site: LiveFrontend, name: str, password: str) -> bool:
    """Whether *name* signs in with *password*."""

    async def check(db: AsyncSession) -> bool:
        return await authenticate(db, name, password) is not None

    matches: bool = in_database(site.database_url, check)
    return matches


def refused(done: subprocess.CompletedProcess[str], says: str) -> None:
    """The command failed with exit code 1 and a one-line message saying *says*."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_adduser_users_passwd_deluser(site: LiveFrontend, password_file: Path) -> None:
    done = site.cli("adduser", "ada", "--admin", "--password-file", str(password_file))
    assert done.returncode == 0, done.stderr
    assert "added admin ada" in done.stdout
    assert site.cli("adduser", "bob", "--password-file", str(password_file)).returncode == 0
    assert password_of(site, "ada", PASSWORD)

    listing = site.cli("users")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["name", "admin", "disabled", "created"]
    assert lines[1].split()[:3] == ["ada", "yes", "no"]
    assert lines[2].split()[:3] == ["bob", "no", "no"]
    assert PASSWORD not in listing.stdout and "argon2" not in listing.stdout

    password_file.write_text("another good password")
    done = site.cli("passwd", "bob", "--password-file", str(password_file))
    assert done.returncode == 0, done.stderr
    assert password_of(site, "bob", "another good password")
    assert not password_of(site, "bob", PASSWORD)

    async def give_bob_a_notebook(db: AsyncSession) -> None:
        bob = await by_name(db, "bob")
        assert bob is not None
        db.add(Notebook(title="bob's", owner_id=bob.id, engine_type="python"))
        await db.commit()

    in_database(site.database_url, give_bob_a_notebook)
    done = site.cli("deluser", "bob")
    assert done.returncode == 0, done.stderr
    assert "deleted bob and their 1 notebook" in done.stdout
    assert [line.split()[0] for line in site.cli("users").stdout.splitlines()] == ["name", "ada"]


def test_mistakes_get_a_message_and_exit_code_1(
    site: LiveFrontend, password_file: Path, tmp_path: Path
) -> None:
    assert site.cli("adduser", "ada", "--password-file", str(password_file)).returncode == 0
    refused(site.cli("adduser", "ada", "--password-file", str(password_file)), "is taken")
    refused(site.cli("adduser", "no spaces", "--password-file", str(password_file)), "username")
    short = tmp_path / "short"
    short.write_text("short\n")
    refused(site.cli("adduser", "bob", "--password-file", str(short)), "at least 8 characters")
    refused(site.cli("passwd", "ada", "--password-file", str(short)), "at least 8 characters")
    missing = str(tmp_path / "missing")
    refused(site.cli("adduser", "bob", "--password-file", missing), "cannot read")
    refused(site.cli("passwd", "nobody", "--password-file", str(password_file)), "no user")
    refused(site.cli("deluser", "nobody"), "no user 'nobody'")
    assert password_of(site, "ada", PASSWORD)  # nothing changed
    assert [line.split()[0] for line in site.cli("users").stdout.splitlines()] == ["name", "ada"]


def at_a_terminal(site: LiveFrontend, args: list[str], typed: list[str]) -> tuple[int, str]:
    """Run `codenode *args*` on a pseudo-terminal of its own, typing *typed* at each prompt;
    its exit code and everything it wrote."""
    main, child = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # getpass asks /dev/tty: make this pty it

    process = subprocess.Popen(
        [sys.executable, "-m", "codenode", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=site.env,
        preexec_fn=take_terminal,
    )
    os.close(child)
    written = b""
    answers = list(typed)
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 30)
            assert ready, f"no output for 30 s; so far: {written!r}"
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child's side closed: it has exited
                break
            if not chunk:
                break
            written += chunk
            # A prompt appears once getpass has turned echo off (and flushed earlier input).
            if answers and chunk.rstrip().endswith(b":"):
                os.write(main, answers.pop(0).encode() + b"\n")
        return process.wait(30), written.decode(errors="replace")
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
            process.wait()


def test_adduser_asks_twice_and_refuses_a_mismatch(site: LiveFrontend) -> None:
    code, said = at_a_terminal(site, ["adduser", "carl"], [PASSWORD, PASSWORD + "x"])
    assert code == 1, said
    assert "do not match" in said
    assert PASSWORD not in said  # not echoed
    code, said = at_a_terminal(site, ["adduser", "carl"], [PASSWORD, PASSWORD])
    assert code == 0, said
    assert password_of(site, "carl", PASSWORD)
