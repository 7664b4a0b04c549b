"""Starting and stopping many engines leaves the backend as it was: no leaked fds, no growth."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.backend.conftest import Backend


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cycle(backend: Backend, count: int) -> None:
    for _ in range(count):
        engine = backend.start_engine()
        assert backend.http.delete(f"/engines/{engine['id']}").status_code == 204


@pytest.mark.timeout(240)  # 220 sandboxed exec starts and stops: ~30 s alone, more if busy
def test_200_engines_started_and_stopped_leak_nothing(backend: Backend) -> None:
    pid = backend.process.pid
    cycle(backend, 20)  # warm up: imports, caches, first allocations
    fds_before, rss_before = open_fds(pid), rss_kib(pid)
    cycle(backend, 200)
    fds_after, rss_after = open_fds(pid), rss_kib(pid)
    assert fds_after <= fds_before, (fds_before, fds_after)
    assert rss_after - rss_before < 8 * 1024, (rss_before, rss_after)  # KiB
    assert backend.http.get("/engines").json()["engines"] == []
