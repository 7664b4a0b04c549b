"""The shipped sage engine type, for real, when passagemath is installed (make test does)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codenode.protocol.evaluation import Evaluation
from tests.backend.conftest import ROOT, Backend, start_backend

SAGE_PLUGIN = ROOT / "plugins" / "sage.py"


def sage_python() -> Path | None:
    """The Python the sage plug-in would use, if it can import Sage."""
    venv = Path.home() / ".cache" / "codenode" / "sage-venv" / "bin" / "python"
    if not venv.exists():
        return None
    check = subprocess.run(
        [str(venv), "-c", "import sage.all__sagemath_symbolics"], capture_output=True, timeout=120
    )
    return venv if check.returncode == 0 else None


pytestmark = pytest.mark.skipif(
    sage_python() is None,
    reason="passagemath is not installed in ~/.cache/codenode/sage-venv (make sage-env)",
)


@pytest.fixture(scope="module")
def sage_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    home = tmp_path_factory.mktemp("sage")
    plugins = home / "plugins"
    plugins.mkdir()
    shutil.copy(SAGE_PLUGIN, plugins / "sage.py")
    backend = start_backend(plugins, home)
    yield backend
    backend.close()


def evaluate(backend: Backend, engine_id: str, code: str) -> dict[str, Any]:
    with backend.bus(engine_id) as ws:
        ws.send(json.dumps({"id": 1, "op": "evaluate", "code": code}))
        evaluation = Evaluation(1, code)
        while not evaluation.add(json.loads(ws.recv(timeout=120))):
            pass
        return evaluation.result()


@pytest.mark.timeout(180)
def test_sage_type_is_available_and_runs_sage_syntax(sage_backend: Backend) -> None:
    listing = sage_backend.http.get("/engine-types").json()
    sage = next(t for t in listing["types"] if t["name"] == "sage")
    assert sage["available"] is True, sage
    engine = sage_backend.start_engine("sage")
    result = evaluate(sage_backend, engine["id"], "2^10")
    assert (result["out"], result["err"]) == ("1024\n", "")
    integral = evaluate(sage_backend, engine["id"], "x = var('x')\nintegrate(x^2, x)")
    assert integral["out"] == "1/3*x^3\n"
    factored = evaluate(sage_backend, engine["id"], "factor(2^64 - 1)")
    assert factored["out"] == "3 * 5 * 17 * 257 * 641 * 65537 * 6700417\n"
    ranged = evaluate(sage_backend, engine["id"], "sum([1..10])")
    assert ranged["out"] == "55\n"


@pytest.mark.timeout(180)
def test_sage_plots_are_shown_as_images(sage_backend: Backend) -> None:
    engine = sage_backend.start_engine("sage")
    plotted = evaluate(sage_backend, engine["id"], "x = var('x')\nplot(sin(x), (x, 0, 3))")
    if "NameError" in plotted["err"]:
        pytest.skip("passagemath-plot is not installed in the Sage environment")
    assert plotted["err"] == ""
    assert plotted["display"][0]["image/png"].startswith("iVBORw0KGgo")


@pytest.mark.timeout(180)
def test_sage_engines_are_forked_from_a_template_and_share_nothing(sage_backend: Backend) -> None:
    listing = sage_backend.http.get("/engine-types").json()
    template = next(t for t in listing["types"] if t["name"] == "sage")["template"]
    assert template["state"] == "ready"
    assert "sage.all__sagemath_symbolics" in template["preloaded"]
    first, second = sage_backend.start_engine("sage"), sage_backend.start_engine("sage")
    assert first["forked"] and second["forked"]
    evaluate(sage_backend, first["id"], "y = 7")
    assert "NameError" in evaluate(sage_backend, second["id"], "y")["err"]
    seeds = [evaluate(sage_backend, e["id"], "initial_seed()")["out"] for e in (first, second)]
    assert seeds[0] != seeds[1]
    # Sage's names are there in each engine, from the type's startup code.
    assert evaluate(sage_backend, second["id"], "is_prime(2^61 - 1)")["out"] == "True\n"
