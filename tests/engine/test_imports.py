"""The engine stays light and independent: standard library only, never the other tiers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The engine's wire in codenode/protocol: its messages, their checks, its frames.
ENGINE_WIRE = ("engine.py", "schema.py", "checks.py", "frames.py", "evaluation.py")
ENGINE_FILES = [
    *sorted((ROOT / "codenode" / "engine").glob("*.py")),
    *(ROOT / "codenode" / "protocol" / name for name in ENGINE_WIRE),
]
OPTIONAL = {"jedi", "matplotlib"}  # used when the hosting Python has them, imported lazily
# The interpreters of engine types that bring their own library (--interpreter), imported
# only by engines of that type: what each may import.
TYPE_INTERPRETERS = {"ipython.py": {"IPython", "traitlets"}}


def imported_modules(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level?) for every import in a file."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top_level))
    return found


def test_engine_imports_only_the_standard_library_and_itself() -> None:
    for path in ENGINE_FILES:
        for module, top_level in imported_modules(path):
            root = module.split(".")[0]
            if module.startswith(("codenode.engine", "codenode.protocol")) or module == "codenode":
                continue
            if root in TYPE_INTERPRETERS.get(path.name, ()):
                continue
            if root in OPTIONAL:
                assert not top_level, f"{path.name} imports {module} at top level"
                continue
            assert root in sys.stdlib_module_names, f"{path.name} imports {module}"
            assert root != "asyncio", f"{path.name} imports asyncio"


def test_engine_process_loads_neither_other_tiers_nor_asyncio() -> None:
    code = (
        "import sys, codenode.engine.server, codenode.engine.__main__\n"
        "bad = [m for m in sys.modules if m.startswith(('codenode.backend', 'codenode.frontend'))"
        " or m in ('asyncio', 'jedi', 'matplotlib', 'typing', 'argparse', 'IPython')]\n"
        "print(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout == "[]\n", done.stderr
