"""Introspection for `obj?` / `obj??` cells: parse, describe, render."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from codenode.engine.introspection import format_introspection, introspect, parse_help_request

MODULE_SOURCE = textwrap.dedent(
    '''
    def scale(value, factor=2):
        """Multiply value by factor."""
        return value * factor


    class Shape:
        """A shape with sides."""

        def __init__(self, sides):
            self.sides = sides

        def area(self):
            """Not computed here."""
            return None


    class Square(Shape):
        def __call__(self, size):
            return size * size
    '''
)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A module written to a file and imported, as a user's own code is."""
    path = tmp_path / "user_code.py"
    path.write_text(MODULE_SOURCE)
    spec = importlib.util.spec_from_file_location("user_code", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "user_code", module)  # where inspect finds its classes
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def namespace(user_module: Any) -> dict[str, Any]:
    return {
        "__builtins__": __builtins__,
        "os": os,
        "scale": user_module.scale,
        "Shape": user_module.Shape,
        "shape": user_module.Shape(3),
        "square": user_module.Square(4),
        "answer": 42,
    }


class Recorder:
    """Records calls, to show that introspection never evaluates what it is given."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def system(self, command: str) -> int:
        self.calls.append(command)
        return 0

    @property
    def broken(self) -> int:
        raise RuntimeError("this property fails")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("len?", ("len", 0)),
        ("len??", ("len", 1)),
        ("?len", ("len", 0)),
        ("??os.path.join", ("os.path.join", 1)),
        ("  x.method?  \n", ("x.method", 0)),
        ("\n?? os.path\n", ("os.path", 1)),
        ("len", None),
        ("len???", None),
        ("?len?", None),
        ("?", None),
        ("??", None),
        ("x = 1\nx?", None),
        ("os.system('x')?", None),
        ("a b?", None),
        ("a.?", None),
        ("1x?", None),
        ("", None),
    ],
)
def test_parse_help_request(code: str, expected: tuple[str, int] | None) -> None:
    assert parse_help_request(code) == expected


def test_builtin_function(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "len", detail=1)
    assert info["found"] is True
    assert info["name"] == "len"
    assert info["type"] == "builtin_function_or_method"
    assert info["signature"] == "len(obj, /)"
    assert info["doc"] == inspect.getdoc(len)
    assert info["file"] is None
    assert info["source"] is None


def test_stdlib_function(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "os.path.join", detail=1)
    assert info["found"] is True
    assert info["type"] == "function"
    assert info["signature"] == "join(a, *p)"
    # A real file, even where the stdlib module is frozen (its code says <frozen posixpath>).
    assert info["file"] is not None
    assert os.path.samefile(info["file"], os.path.__file__)
    assert info["source"].startswith("def join(a, *p):")
    assert info["doc"] == inspect.getdoc(os.path.join)


def test_user_function_with_source(namespace: dict[str, Any], user_module: Any) -> None:
    info = introspect(namespace, "scale", detail=1)
    assert info["signature"] == "scale(value, factor=2)"
    assert info["doc"] == "Multiply value by factor."
    assert info["file"] == user_module.__file__
    assert info["source"] == (
        "def scale(value, factor=2):\n"
        '    """Multiply value by factor."""\n'
        "    return value * factor\n"
    )


def test_source_only_with_detail(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "scale")
    assert info["source"] is None
    assert info["file"] is not None


def test_class(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "Shape", detail=1)
    assert info["type"] == "type"
    assert info["signature"] == "Shape(sides)"
    assert info["doc"] == "A shape with sides."
    assert info["source"].startswith("class Shape:")


def test_instance_has_its_class_doc(namespace: dict[str, Any], user_module: Any) -> None:
    info = introspect(namespace, "shape", detail=1)
    assert info["found"] is True
    assert info["type"] == "Shape"
    assert info["signature"] is None  # not callable
    assert info["doc"] == "A shape with sides."
    assert info["file"] == user_module.__file__
    # Square documents nothing itself: its base's doc is the best there is.
    square = introspect(namespace, "square")
    assert square["doc"] == "A shape with sides."
    assert square["signature"] == "square(size)"


def test_class_defined_by_a_cell_claims_no_file() -> None:
    # Run as the engine runs cells: __name__ is __main__, which in sys.modules is another file.
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile("class Cell:\n    'Made in a cell.'\n", "<input>", "exec"), namespace)
    namespace["cell"] = namespace["Cell"]()
    for expr in ("Cell", "cell"):
        info = introspect(namespace, expr, detail=1)
        assert (info["found"], info["doc"]) == (True, "Made in a cell.")
        assert (info["file"], info["source"]) == (None, None)


def test_function_defined_by_a_cell_claims_no_file() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(
        compile("def twice(x):\n    'Double x.'\n    return 2 * x\n", "<cell 7>", "exec"), namespace
    )
    info = introspect(namespace, "twice", detail=1)
    assert (info["signature"], info["doc"]) == ("twice(x)", "Double x.")
    assert (info["file"], info["source"]) == (None, None)


def test_method_of_an_instance(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "shape.area")
    assert (info["type"], info["signature"], info["doc"]) == (
        "method",
        "area()",
        "Not computed here.",
    )


def test_plain_value(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "answer")
    assert (info["found"], info["type"], info["signature"]) == (True, "int", None)
    assert info["doc"] == inspect.getdoc(int)


@pytest.mark.parametrize("expr", ["None", "True"])
def test_constants_that_are_keywords(namespace: dict[str, Any], expr: str) -> None:
    info = introspect(namespace, expr)
    assert info["found"] is True
    assert info["type"] in ("NoneType", "bool")


@pytest.mark.parametrize("expr", ["nothing_here", "os.nothing_here", "for", "recorder.broken"])
def test_not_found(namespace: dict[str, Any], expr: str) -> None:
    namespace["recorder"] = Recorder()
    info = introspect(namespace, expr)
    assert info == {
        "found": False,
        "name": expr,
        "type": None,
        "signature": None,
        "doc": None,
        "file": None,
        "source": None,
    }
    assert format_introspection(info) == f"Object `{expr}` not found.\n"


@pytest.mark.parametrize(
    "expr",
    [
        "os.system('x')",
        "os.system",  # found, but only looked at
        "os . system",
        "os.system()",
        "[os.system('x')]",
        "os.system('x').real",
        "__import__('os').system('x')",
        "lambda: os.system('x')",
        "os.system if True else 0",
    ],
)
def test_nothing_is_evaluated(expr: str) -> None:
    recorder = Recorder()
    info = introspect({"os": recorder}, expr)
    assert recorder.calls == []
    assert info["found"] is (expr == "os.system")


def test_surrounding_whitespace_is_allowed(namespace: dict[str, Any]) -> None:
    info = introspect(namespace, "  os.path.join \n")
    assert info["found"] is True
    assert info["signature"] == "join(a, *p)"


def test_namespace_comes_before_builtins(namespace: dict[str, Any]) -> None:
    namespace["len"] = namespace["scale"]
    assert introspect(namespace, "len")["doc"] == "Multiply value by factor."


def test_format_one_line_fields(namespace: dict[str, Any]) -> None:
    text = format_introspection(introspect(namespace, "len"))
    assert text == (
        "Type:      builtin_function_or_method\n"
        "Signature: len(obj, /)\n"
        "Docstring: Return the number of items in a container.\n"
    )


def test_format_blocks_and_source(namespace: dict[str, Any], user_module: Any) -> None:
    text = format_introspection(introspect(namespace, "Shape", detail=1))
    lines = text.splitlines()
    assert lines[:4] == [
        "Type:      type",
        "Signature: Shape(sides)",
        f"File:      {user_module.__file__}",
        "Docstring: A shape with sides.",
    ]
    assert lines[4] == "Source:"
    assert "\n".join(lines[5:]) + "\n" == inspect.getsource(user_module.Shape)
    assert text.endswith("\n")


def test_format_multi_line_docstring(namespace: dict[str, Any]) -> None:
    text = format_introspection(introspect(namespace, "os.path.join"))
    assert "Docstring:\nJoin two or more pathname components" in text
    assert "Source:" not in text


def test_help_cell_end_to_end(namespace: dict[str, Any]) -> None:
    request = parse_help_request("scale??")
    assert request is not None
    text = format_introspection(introspect(namespace, *request))
    assert "Signature: scale(value, factor=2)\n" in text
    assert "Source:\ndef scale(value, factor=2):\n" in text
