"""The shipped ``ipython`` engine type (plugins/ipython.py) on a real backend: forked from its
template, in the sandbox, each cell run by IPython's shell."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.backend.conftest import ROOT, Backend, python_plugin
from tests.backend.test_templates import evaluate

pytest.importorskip("IPython")


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    """The shipped ipython.py beside a templated python type (the conftest's backend serves it)."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(ROOT / "plugins" / "ipython.py", folder / "ipython.py")
    (folder / "python.py").write_text(python_plugin(templated=True))
    return folder


def test_the_ipython_type_runs_magics_shell_commands_and_shows_ipythons_errors(
    backend: Backend,
) -> None:
    listing = backend.wait_for_templates(timeout=60)
    ipython = next(t for t in listing["types"] if t["name"] == "ipython")
    assert ipython["available"], ipython
    engine = backend.start_engine("ipython")
    assert engine["forked"], engine
    timed = evaluate(backend, engine["id"], "%time value = 6 * 7\nvalue")
    assert "Wall time" in timed["out"] and timed["out"].endswith("42\n"), timed
    assert evaluate(backend, engine["id"], "value;")["out"] == ""
    assert evaluate(backend, engine["id"], "!echo $HOME")["out"].strip() == "/workspace"
    failed = evaluate(backend, engine["id"], "undefined_name")
    assert "NameError" in failed["err"] and failed["error"]["ename"] == "NameError", failed
    # Two engines of the type share nothing: each its own shell and namespace.
    other = backend.start_engine("ipython")
    assert "NameError" in evaluate(backend, other["id"], "value")["err"]


def test_the_python_type_beside_it_keeps_the_seeds_semantics(backend: Backend) -> None:
    engine = backend.start_engine("python")
    assert "SyntaxError" in evaluate(backend, engine["id"], "%time 1")["err"]
    assert evaluate(backend, engine["id"], "1;")["out"] == "1\n"  # the REPL echoes it
