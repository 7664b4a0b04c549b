"""`codenode console`: a console on a real engine process."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_console(typed: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codenode", "console"],
        input=typed,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_console_runs_cells_in_an_engine() -> None:
    done = run_console("2+2\nx = 'remembered'\nfor i in range(2):\n    print(i, x)\n\n")
    assert done.returncode == 0, done.stderr
    assert "4\n" in done.stdout
    assert "0 remembered\n1 remembered\n" in done.stdout


def test_console_reports_errors_and_goes_on() -> None:
    done = run_console("1/0\nprint('after')\n")
    assert "ZeroDivisionError: division by zero" in done.stderr
    assert "after\n" in done.stdout


def test_console_answers_input_requests() -> None:
    done = run_console("name = input('Who? ')\nAda\nprint('hi', name)\n")
    assert "hi Ada\n" in done.stdout


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_cli_help_and_version(flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codenode", flag], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    assert ("run" in done.stdout) if flag == "--help" else done.stdout.strip() == "0.1.0"
