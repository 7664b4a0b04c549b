"""Tab completion, through jedi and through the plain path, with the same contract."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codenode.engine import completion
from codenode.engine.completion import complete

try:
    import jedi
except ImportError:  # the plain path must work alone
    jedi = None


class Watched:
    """Records every run of its code that completion could trigger."""

    attribute = 1
    _private = 2

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.inner = self  # so that chains such as obj.inner.prop.x exist

    @property
    def prop(self):  # type: ignore[no-untyped-def]  # annotated, jedi would read the annotation
        self.runs.append("prop")
        return "value"

    def method(self) -> None:
        self.runs.append("method")


class Exploding(Watched):
    """A property that raises and a __getattr__: both must stay untouched."""

    @property
    def prop(self) -> str:
        self.runs.append("prop")
        raise RuntimeError("a property ran during completion")

    def __getattr__(self, name: str) -> Any:
        self.runs.append("__getattr__ " + name)
        raise AttributeError(name)


class KeysOverridden(dict[str, int]):
    """A dict whose keys() is Python code; completion must read the keys without it."""

    def keys(self) -> Any:
        raise RuntimeError("keys() ran during completion")


@pytest.fixture(params=[False, True], ids=["plain", "jedi"])
def use_jedi(request: pytest.FixtureRequest) -> bool:
    if request.param and jedi is None:
        pytest.skip("jedi is not installed")
    flag: bool = request.param
    return flag


@pytest.fixture
def namespace() -> dict[str, Any]:
    return {
        "__builtins__": __builtins__,
        "__name__": "__main__",
        "os": os,
        "my_variable": 1,
        "_my_private": 2,
        "obj": Watched(),
        "boom": Exploding(),
        "d": {"alpha": 1, "also": 2, "beta": 3, "it's": 4, 'say "hi"': 5, 6: "six"},
        "guarded": KeysOverridden(alpha=1),
    }


def run(namespace: dict[str, Any], text: str, use_jedi: bool, cursor: int | None = None) -> Any:
    """complete(), plus the contract every answer keeps."""
    answer = complete(namespace, text, cursor, use_jedi=use_jedi)
    assert set(answer) == {"matches", "cursor_start", "cursor_end"}
    end = len(text) if cursor is None else cursor
    assert answer["cursor_end"] == end
    assert 0 <= answer["cursor_start"] <= end
    assert answer["matches"] == sorted(set(answer["matches"]))
    typed = text[answer["cursor_start"] : end]
    assert all(match.startswith(typed) for match in answer["matches"]), typed
    return answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [("pri", "print"), ("whi", "while"), ("my_v", "my_variable"), ("Non", "None")],
)
def test_names_builtins_and_keywords(
    namespace: dict[str, Any], use_jedi: bool, text: str, expected: str
) -> None:
    answer = run(namespace, text, use_jedi)
    assert expected in answer["matches"]
    assert answer["cursor_start"] == 0


def test_attributes_of_a_dotted_chain(namespace: dict[str, Any], use_jedi: bool) -> None:
    answer = run(namespace, "os.path.jo", use_jedi)
    assert answer["matches"] == ["join"]
    assert answer["cursor_start"] == len("os.path.")


def test_attributes_of_an_instance(namespace: dict[str, Any], use_jedi: bool) -> None:
    matches = run(namespace, "obj.", use_jedi)["matches"]
    assert {"attribute", "method", "prop", "runs", "inner"} <= set(matches)
    assert not [name for name in matches if name.startswith("_")]


@pytest.mark.parametrize(
    "text",
    [
        "obj.",
        "obj.pr",
        "obj.prop.",
        "obj.prop.x",
        "obj.inner.prop.x",
        "x = obj\nx.prop.",
        "obj.method().",
        "boom.",
        "boom.prop.",
        "boom.prop.x",
        "boom.missing.x",
        "boom.inner.prop.",
    ],
)
def test_completion_runs_no_property_or_getattr(
    namespace: dict[str, Any], use_jedi: bool, text: str
) -> None:
    run(namespace, text, use_jedi)
    assert namespace["obj"].runs == []
    assert namespace["boom"].runs == []


def test_attributes_of_an_object_with_getattr_still_complete(
    namespace: dict[str, Any], use_jedi: bool
) -> None:
    assert run(namespace, "boom.me", use_jedi)["matches"] == ["method"]
    assert namespace["boom"].runs == []


def test_a_call_is_never_made_to_learn_its_result(use_jedi: bool) -> None:
    calls: list[str] = []

    def factory() -> Watched:
        calls.append("factory")
        return Watched()

    run({"factory": factory}, "factory().pr", use_jedi)
    assert calls == []


@pytest.mark.parametrize(
    "text",
    [
        "import os; os.path.jo",
        "import os.path as p\np.jo",
        "from os import sep, path as q\nq.jo",
        "from os import path\n\npath.jo",
    ],
)
def test_modules_the_cell_imports_before_it_runs(use_jedi: bool, text: str) -> None:
    assert run({}, text, use_jedi)["matches"] == ["join"]


def test_multi_line_cell(namespace: dict[str, Any], use_jedi: bool) -> None:
    text = "import os\n\nfor i in range(3):\n    os.path.jo"
    answer = run(namespace, text, use_jedi)
    assert answer["matches"] == ["join"]
    assert answer["cursor_start"] == len(text) - 2


def test_cursor_in_the_middle_of_the_text(namespace: dict[str, Any], use_jedi: bool) -> None:
    text = "x = os.path.jo + 1\nprint(x)"
    cursor = text.index(" + 1")
    answer = run(namespace, text, use_jedi, cursor)
    assert answer["matches"] == ["join"]
    assert answer["cursor_start"] == cursor - 2


def test_only_text_before_the_cursor_counts(namespace: dict[str, Any], use_jedi: bool) -> None:
    # The cursor sits inside a word: `pri|ntable_thing` completes `pri`.
    answer = run(namespace, "printable_thing\n# more", use_jedi, 3)
    assert "print" in answer["matches"]
    assert (answer["cursor_start"], answer["cursor_end"]) == (0, 3)


def test_cursor_beyond_the_text_is_its_end(namespace: dict[str, Any], use_jedi: bool) -> None:
    answer = complete(namespace, "pri", 99, use_jedi=use_jedi)
    assert (answer["matches"], answer["cursor_start"], answer["cursor_end"]) == (["print"], 0, 3)


def test_private_names_only_for_an_underscore(namespace: dict[str, Any], use_jedi: bool) -> None:
    assert "_my_private" not in run(namespace, "", use_jedi)["matches"]
    assert run(namespace, "_my", use_jedi)["matches"] == ["_my_private"]
    assert run(namespace, "obj._pr", use_jedi)["matches"] == ["_private"]
    dunders = run(namespace, "obj.__cl", use_jedi)["matches"]
    assert dunders == ["__class__"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d['a", ["'alpha'", "'also'"]),
        ("d['al", ["'alpha'", "'also'"]),
        ('d["a', ['"alpha"', '"also"']),
        ("d['it", ["'it\\'s'"]),
        ('d["say', ['"say \\"hi\\""']),
        ("d['zzz", []),
        ("guarded['", ["'alpha'"]),
    ],
)
def test_dict_keys_are_whole_literals(
    namespace: dict[str, Any], use_jedi: bool, text: str, expected: list[str]
) -> None:
    answer = run(namespace, text, use_jedi)
    assert answer["matches"] == expected
    assert answer["cursor_start"] == text.index("[") + 1


def test_every_dict_key_literal_evaluates_to_its_key(
    namespace: dict[str, Any], use_jedi: bool
) -> None:
    for quote in "'\"":
        matches = run(namespace, "d[" + quote, use_jedi)["matches"]
        keys = {key for key in namespace["d"] if isinstance(key, str)}
        assert {ast.literal_eval(match) for match in matches} == keys


def test_subscript_of_what_is_not_a_dict_offers_no_file_names(
    namespace: dict[str, Any], use_jedi: bool
) -> None:
    # jedi completes file names in any string, `os.environ["` included.
    assert run(namespace, 'os.environ["', use_jedi)["matches"] == []


def test_keys_after_a_bare_bracket_come_with_names(
    namespace: dict[str, Any], use_jedi: bool
) -> None:
    answer = run(namespace, "d[", use_jedi)
    assert {"'alpha'", "'it\\'s'", "print", "my_variable"} <= set(answer["matches"])
    assert answer["cursor_start"] == 2


def test_keys_of_a_dict_reached_through_attributes(use_jedi: bool) -> None:
    holder = Watched()
    holder.settings = {"colour": 1, "size": 2}  # type: ignore[attr-defined]
    assert run({"cfg": holder}, "cfg.settings['c", use_jedi)["matches"] == ["'colour'"]
    assert holder.runs == []


@pytest.mark.parametrize(
    ("text", "expected", "start"),
    [
        ("import o", "os", 7),
        ("import sys, o", "os", 12),
        ("import os.pa", "os.path", 7),
        ("import xml.e", "xml.etree", 7),
        ("from o", "os", 5),
        ("from os.pa", "os.path", 5),
        ("from os import pa", "path", 15),
        ("from os import sep, pa", "path", 20),
        ("from json import (lo", "loads", 18),
        ("import _th", "_thread", 7),
    ],
)
def test_module_names_after_import_and_from(
    namespace: dict[str, Any], use_jedi: bool, text: str, expected: str, start: int
) -> None:
    answer = run(namespace, text, use_jedi)
    assert expected in answer["matches"]
    assert answer["cursor_start"] == start


def test_private_modules_only_for_an_underscore(use_jedi: bool) -> None:
    matches = run({}, "import ", use_jedi)["matches"]
    assert "os" in matches
    assert "sys" in matches
    assert not [name for name in matches if name.startswith("_")]
    assert all(name.isidentifier() for name in matches)  # what an import statement can name


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package whose __init__ fails: listing its modules must not import it."""
    root = tmp_path / "codenode_probe_pkg"
    root.mkdir()
    (root / "__init__.py").write_text("raise RuntimeError('imported by completion')\n")
    (root / "alpha_module.py").write_text("VALUE = 1\n")
    (root / "beta_module.py").write_text("VALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root.name
    for name in [name for name in sys.modules if name.startswith(root.name)]:
        del sys.modules[name]


def test_submodules_are_listed_without_importing_the_package(package: str, use_jedi: bool) -> None:
    answer = run({}, f"import {package}.al", use_jedi)
    assert answer["matches"] == [f"{package}.alpha_module"]
    assert package not in sys.modules
    assert run({}, f"from {package} import be", use_jedi)["matches"] == ["beta_module"]


@pytest.mark.parametrize(
    "text", ["# pri", "x = 1  # os.pa", "import os as o", "print('os.pa", "from . import x"]
)
def test_nothing_to_complete(namespace: dict[str, Any], use_jedi: bool, text: str) -> None:
    assert run(namespace, text, use_jedi)["matches"] == []


def test_answers_are_stable(namespace: dict[str, Any], use_jedi: bool) -> None:
    for text in ("o", "os.path.", "import o", "d['", "obj."):
        first = run(namespace, text, use_jedi)
        assert run(namespace, text, use_jedi) == first


@pytest.mark.skipif(jedi is None, reason="jedi is not installed")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pri", ["print"]),
        ("os.path.jo", ["join"]),
        ("obj.me", ["method"]),
        ("import os.pa", ["os.path"]),
        ("from os import pat", ["path", "pathconf", "pathconf_names", "pathsep"]),
    ],
)
def test_jedi_answers_these_alone(
    namespace: dict[str, Any], text: str, expected: list[str]
) -> None:
    # The jedi cases must not pass only because the plain path stands in for jedi.
    start = len("import ") if text.startswith("import") else None
    found = completion._jedi_matches(namespace, text, start)
    assert found is not None
    assert sorted(found[1]) == expected


@pytest.mark.skipif(jedi is None, reason="jedi is not installed")
def test_jedi_infers_what_the_plain_path_cannot(namespace: dict[str, Any]) -> None:
    assert complete(namespace, "'abc'.upp", use_jedi=True)["matches"] == ["upper"]
    assert complete(namespace, "'abc'.upp", use_jedi=False)["matches"] == []


@pytest.mark.skipif(jedi is None, reason="jedi is not installed")
def test_jedi_knows_keys_of_a_dict_the_cell_makes() -> None:
    assert complete({}, "x = {'ab': 1}\nx['a", use_jedi=True)["matches"] == ["'ab'"]


@pytest.mark.skipif(jedi is None, reason="jedi is not installed")
def test_jedi_setting_is_left_as_it_was(namespace: dict[str, Any]) -> None:
    before = jedi.settings.allow_unsafe_interpreter_executions
    complete(namespace, "obj.prop.", use_jedi=True)
    assert jedi.settings.allow_unsafe_interpreter_executions == before


def test_without_jedi_the_plain_path_answers(
    namespace: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jedi", None)  # makes `import jedi` raise ImportError
    for use_jedi in (None, True):
        assert complete(namespace, "os.path.jo", use_jedi=use_jedi)["matches"] == ["join"]
