"""Engines no frontend holds are stopped after the backend's grace period (--orphan-minutes).

A frontend that crashed, or stopped and was never replaced, leaves its engines behind; the
backend notices that no bus client holds them and stops them. An engine a client holds is
never stopped for that, however long it idles.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.conftest import Backend, python_plugin, start_backend
from tests.backend.test_backend import receive

GRACE_MINUTES = 0.02  # 1.2 s


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Backend]:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin())
    running = start_backend(plugins, tmp_path, extra=["--orphan-minutes", str(GRACE_MINUTES)])
    yield running
    running.close()


def listed(backend: Backend) -> set[str]:
    return {engine["id"] for engine in backend.http.get("/engines").json()["engines"]}


def gone_within(backend: Backend, engine_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if engine_id not in listed(backend):
            return True
        time.sleep(0.1)
    return False


def test_an_engine_nobody_holds_is_stopped_after_the_grace(strict: Backend) -> None:
    orphan = strict.start_engine()
    held = strict.start_engine()
    with strict.bus(held["id"]) as ws:
        receive(ws)
        assert gone_within(strict, orphan["id"], 10)
        time.sleep(GRACE_MINUTES * 60 * 2)
        assert held["id"] in listed(strict)  # held all along: kept
    # Let go of, it goes too: the grace counts from the last client's leaving.
    assert held["id"] in listed(strict)
    assert gone_within(strict, held["id"], 10)
    assert "no frontend held it" in (strict.plugins.parent / "backend.log").read_text()


def test_by_default_the_grace_is_ten_minutes(backend: Backend) -> None:
    engine = backend.start_engine()
    time.sleep(1.5)
    assert engine["id"] in listed(backend)
