"""Rich output in-process: display(), _repr_*_ methods, matplotlib figures."""

from __future__ import annotations

import base64

from codenode.engine.interpreter import Interpreter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Rich:
    def _repr_html_(self) -> str:
        return "<i>rich</i>"

    def _repr_png_(self) -> bytes:
        return PNG_MAGIC + b"fake"

    def __repr__(self) -> str:
        return "Rich()"


class Bundle:
    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, str]:
        return {"text/markdown": "**md**", "text/plain": "Bundle!"}


def test_bare_expression_with_rich_repr_becomes_a_display() -> None:
    result = Interpreter({"Rich": Rich}).evaluate("Rich()")
    assert result["out"] == "Rich()\n"  # the REPL's contract holds for rich values too
    assert result["display"] == [
        {
            "image/png": base64.b64encode(PNG_MAGIC + b"fake").decode(),
            "text/html": "<i>rich</i>",
            "text/plain": "Rich()",
        }
    ]


def test_mimebundle_method_is_used() -> None:
    result = Interpreter({"Bundle": Bundle}).evaluate("Bundle()")
    assert result["display"] == [{"text/markdown": "**md**", "text/plain": "Bundle!"}]


def test_display_builtin_keeps_order_with_prints() -> None:
    messages: list[tuple[str, object]] = []
    interp = Interpreter({"Rich": Rich})
    result = interp.evaluate(
        "print('before')\ndisplay(Rich(), 42)\nprint('after')",
        listener=lambda kind, value: messages.append((kind, value)),
    )
    kinds = [kind for i, (kind, _) in enumerate(messages) if i == 0 or messages[i - 1][0] != kind]
    assert kinds == ["stdout", "display", "stdout"]
    assert [value for kind, value in messages if kind == "display"][1] == {"text/plain": "42"}
    assert result["display"][1] == {"text/plain": "42"}
    assert result["out"] == "before\nafter\n"


def test_a_class_with_repr_methods_shows_as_text() -> None:
    result = Interpreter({"Rich": Rich}).evaluate("Rich")
    assert "display" not in result
    assert "Rich" in result["out"]


def test_matplotlib_figure_is_shown_once_at_the_end_as_png() -> None:
    interp = Interpreter()
    result = interp.evaluate(
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n_ = ax.plot([1, 2, 3])"
    )
    assert result["err"] == ""
    assert len(result["display"]) == 1
    png = base64.b64decode(result["display"][0]["image/png"])
    assert png.startswith(PNG_MAGIC)
    assert result["display"][0]["text/plain"].startswith("<Figure size")
    # Figures are closed after being shown: the next cell shows nothing again.
    assert "display" not in interp.evaluate("x = 1")


def test_plt_show_displays_at_once_and_a_bare_figure_is_not_shown_twice() -> None:
    interp = Interpreter()
    interp.evaluate("import matplotlib.pyplot as plt")
    shown = interp.evaluate("plt.plot([1, 2])\nplt.show()\nprint('after show')")
    assert len(shown["display"]) == 1
    assert shown["err"] == ""
    bare = interp.evaluate("fig = plt.figure()\n_ = fig.gca().plot([3, 1])\nfig")
    assert len(bare["display"]) == 1


def test_repr_failure_is_an_error_in_the_cell() -> None:
    result = Interpreter().evaluate(
        "class Bad:\n    def __repr__(self):\n        raise RuntimeError('no repr')\nBad()"
    )
    assert result["err"].endswith("RuntimeError: no repr\n")
    assert "codenode" not in result["err"]
