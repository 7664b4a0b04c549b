"""SIGTERM to `codenode run` stops its backend, whatever state the backend is in (issue 13: a
wedged backend outlived `codenode run` at 100% CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from codenode.runner import BACKEND_GRACE_SECONDS
from tests.cli.test_run import alive, launch_run


def test_sigterm_to_run_stops_even_a_backend_that_does_not_answer(tmp_path: Path) -> None:
    process = launch_run(tmp_path, subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    backend = 0
    try:
        printed = ""
        while "Press Ctrl-C" not in printed:
            line = process.stdout.readline()
            assert line, printed
            printed += line
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        [backend] = [int(pid) for pid in children]
        # A stopped process does nothing with the SIGTERM it is sent: the worst a backend
        # can be (the wedged one of issue 13 did nothing with it either).
        os.kill(backend, signal.SIGSTOP)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(BACKEND_GRACE_SECONDS + 15)
        deadline = started + BACKEND_GRACE_SECONDS + 5
        while alive(backend):
            assert time.monotonic() < deadline, "the backend outlived codenode run"
            time.sleep(0.1)
        took = time.monotonic() - started
        assert BACKEND_GRACE_SECONDS - 1 < took < BACKEND_GRACE_SECONDS + 5, took
        assert "did not stop within" in process.stderr.read()
    finally:
        if backend and alive(backend):
            os.kill(backend, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_sigterm_to_run_stops_a_healthy_backend_at_once(tmp_path: Path) -> None:
    process = launch_run(tmp_path, subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        printed = ""
        while "Press Ctrl-C" not in printed:
            line = process.stdout.readline()
            assert line, printed
            printed += line
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        [backend] = [int(pid) for pid in children]
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(BACKEND_GRACE_SECONDS + 15) == 128 + signal.SIGTERM
        assert not alive(backend)
        assert time.monotonic() - started < BACKEND_GRACE_SECONDS / 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
