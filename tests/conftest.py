"""Which tests are slow: those that start Codenode's processes (a backend, a frontend, a
browser, the command line). ``make test`` runs everything; ``make test-fast`` (``pytest -m
"not slow"``) runs the in-process tests for the inner loop.

A test is slow if it asks for a fixture that starts a process, lives in a folder whose tests
all do, or is marked ``@pytest.mark.slow`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

PROCESS_FIXTURES = frozenset(
    {
        "backend",
        "live_backend",
        "solo_backend",
        "limited_backend",
        "backends",
        "frontend",
        "browser",
        "page",
    }
)
"""Fixtures that start a real backend, frontend or Chromium for the test."""

PROCESS_FOLDERS = frozenset({"backend", "cli", "faults", "ui"})
"""Folders under tests/ whose every test drives real processes."""

TESTS = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts Codenode's processes (deselect with -m 'not slow')"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder in PROCESS_FOLDERS or PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashes() -> Iterator[None]:
    """Argon2 at its lowest cost in this process, where the in-process frontends of the fast
    tests sign up hundreds of users: a hash takes 165 ms with RFC 9106's parameters here.
    Frontends started as processes keep the real ones (and a test checks that they do)."""
    from argon2 import PasswordHasher

    from codenode.frontend import passwords

    real = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = real
