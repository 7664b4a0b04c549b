"""The ``ipython`` engine type's interpreter (codenode/engine/ipython.py): IPython's own shell
runs each cell, so magics, ``!`` commands, ``;``, display() and tracebacks are IPython's."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from codenode.engine.client import EngineClient, default_command
from codenode.engine.interpreter import Interpreter

pytest.importorskip("IPython")

from codenode.engine.ipython import IPythonInterpreter

SPEC = "codenode.engine.ipython:IPythonInterpreter"


@pytest.fixture
def shell() -> IPythonInterpreter:
    return IPythonInterpreter()


def test_a_bare_expression_is_shown_as_text(shell: IPythonInterpreter) -> None:
    result = shell.evaluate("x = 5\nx * 2")
    assert (result["out"], result["err"], result["cmd_count"]) == ("10\n", "", 1)


def test_a_semicolon_hides_the_value(shell: IPythonInterpreter) -> None:
    assert shell.evaluate("40 + 2;")["out"] == ""
    assert shell.evaluate("40 + 2")["out"] == "42\n"


def test_magics_and_shell_commands_run(shell: IPythonInterpreter) -> None:
    timed = shell.evaluate("%time total = sum(range(1000))")
    assert "Wall time" in timed["out"], timed
    assert shell.evaluate("total")["out"] == "499500\n"
    assert shell.evaluate("!echo from-the-shell")["out"].strip() == "from-the-shell"
    assert shell.evaluate("!printf 'é%.0s' $(seq 40000)")["out"] == "é" * 40000  # in chunks
    assert shell.evaluate("!exit 3\n_exit_code")["out"] == "3\n"
    listed = shell.evaluate("files = !echo one two\nfiles")
    assert "one two" in listed["out"]


def test_display_sends_the_richest_bundle_once(shell: IPythonInterpreter) -> None:
    result = shell.evaluate(
        "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))\nHTML('<i>i</i>')"
    )
    assert result["out"] == ""  # a rich value is shown as its bundle, not also as text
    assert [bundle["text/html"] for bundle in result["display"]] == ["<b>bold</b>", "<i>i</i>"]


def test_an_error_is_ipythons_traceback_on_stderr(shell: IPythonInterpreter) -> None:
    result = shell.evaluate("def divide(a):\n    return a / 0\n\ndivide(1)")
    assert result["cmd_count"] == 0 and result["out"] == ""
    assert "ZeroDivisionError" in result["err"]
    assert "return a / 0" in re.sub(r"\x1b\[[0-9;]*m", "", result["err"])  # the source line
    assert "\x1b[" in result["err"]  # in colour
    assert shell.last_error is not None and shell.last_error["ename"] == "ZeroDivisionError"
    assert shell.evaluate("1 + 1")["out"] == "2\n"  # the shell carries on
    assert shell.last_error is None


def test_a_syntax_error_runs_nothing(shell: IPythonInterpreter) -> None:
    result = shell.evaluate("ran = True\ndef broken(:")
    assert "SyntaxError" in result["err"]
    assert "ran" not in shell.namespace


def test_prints_and_values_keep_their_order(shell: IPythonInterpreter) -> None:
    assert shell.evaluate("print('first'); 'second'")["out"] == "first\n'second'\n"


def test_the_seed_interpreter_is_untouched_by_it() -> None:
    IPythonInterpreter()
    assert Interpreter().evaluate("2+2") == {
        "input_count": 1,
        "out": "4\n",
        "cmd_count": 1,
        "err": "",
        "in": "2+2",
    }
    assert "%" not in Interpreter().evaluate("%time 1")["out"]


@pytest.fixture
def engine() -> Iterator[EngineClient]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with EngineClient([*default_command(), "--interpreter", SPEC], env=env, timeout=30) as client:
        yield client


def streamed(messages: list[dict[str, Any]]) -> str:
    return "".join(m["text"] for m in messages if m["type"] == "stream" and m["name"] == "stdout")


@pytest.mark.slow
def test_an_engine_process_runs_cells_through_ipython(engine: EngineClient) -> None:
    seen: list[dict[str, Any]] = []
    result = engine.evaluate("%time 2+2", seen.append)
    assert "Wall time" in result["out"] and "4\n" in result["out"]
    assert "4\n" in streamed(seen)
    failed = engine.evaluate("1/0")
    assert failed["error"]["ename"] == "ZeroDivisionError"
    assert engine.evaluate("!echo hi")["out"].strip() == "hi"
