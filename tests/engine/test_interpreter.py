"""The Interpreter in-process: the seed's contract and REPL semantics."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from codenode.engine.interpreter import Interpreter

ROOT = Path(__file__).resolve().parents[2]

SEED_TRANSCRIPT = """
>>> from codenode.engine import interpreter
>>> in1 = interpreter.Interpreter()
>>> in1.evaluate('2+2')
{'input_count': 1, 'out': '4\\n', 'cmd_count': 1, 'err': '', 'in': '2+2'}
>>> in1.evaluate('a = 12')
{'input_count': 2, 'out': '', 'cmd_count': 1, 'err': '', 'in': 'a = 12'}
>>> in1.evaluate('a + a')
{'input_count': 3, 'out': '24\\n', 'cmd_count': 1, 'err': '', 'in': 'a + a'}
>>> in2 = interpreter.Interpreter()
>>> in2.evaluate('a + a')['err']
'Traceback (most recent call last):\\n  File "<input>", line 1, in <module>\\nNameError: name \\'a\\' is not defined\\n'
>>> in2.evaluate('a = 42')['input_count'], in2.evaluate('print(a)')['out']
(2, '42\\n')
>>> in1.evaluate('print(a)')['out']
'12\\n'
"""


def run_doctest(text: str, name: str) -> doctest.TestResults:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    return runner.summarize(verbose=False)


def test_seed_transcript_holds_as_written() -> None:
    results = run_doctest(SEED_TRANSCRIPT, "seed")
    assert results.attempted == 9
    assert results.failed == 0


def test_docs_examples_hold() -> None:
    results = run_doctest((ROOT / "docs" / "engine.md").read_text(), "docs/engine.md")
    assert results.attempted > 5
    assert results.failed == 0


def test_every_bare_expression_prints_and_none_prints_nothing() -> None:
    result = Interpreter().evaluate("1\n2\nNone\n'x'")
    assert result["out"] == "1\n2\n'x'\n"
    assert result["cmd_count"] == 4


def test_cmd_count_stops_at_the_failing_statement() -> None:
    result = Interpreter().evaluate("x = 1\ny = 1 / 0\nz = 3")
    assert result["cmd_count"] == 1
    assert result["err"].endswith("ZeroDivisionError: division by zero\n")
    assert result["err"].startswith("Traceback (most recent call last):\n")
    assert '  File "<input>", line 2, in <module>\n' in result["err"]


def test_syntax_error_runs_nothing() -> None:
    interp = Interpreter()
    result = interp.evaluate("x = 1\nprint('ran')\nprint a")
    assert result["cmd_count"] == 0
    assert result["out"] == ""
    assert "SyntaxError" in result["err"]
    assert 'File "<input>", line 3' in result["err"]
    assert "Traceback" not in result["err"]
    assert "x" not in interp.namespace


def test_traceback_has_no_codenode_frames_and_keeps_user_frames() -> None:
    interp = Interpreter()
    interp.evaluate("def f():\n    return g()\ndef g():\n    raise ValueError('deep')")
    err = interp.evaluate("f()")["err"]
    assert "codenode" not in err
    assert err.count('File "<input>"') == 3
    assert "in f" in err and "in g" in err
    assert err.endswith("ValueError: deep\n")


def test_chained_exceptions_are_reported() -> None:
    err = Interpreter().evaluate(
        "try:\n    1/0\nexcept ZeroDivisionError as e:\n    raise KeyError('k') from e"
    )["err"]
    assert "ZeroDivisionError" in err and "KeyError: 'k'" in err
    assert "direct cause" in err
    assert "codenode" not in err


def test_interpreter_survives_system_exit_and_keyboard_interrupt() -> None:
    interp = Interpreter()
    assert interp.evaluate("raise SystemExit(3)")["err"].endswith("SystemExit: 3\n")
    assert interp.evaluate("raise KeyboardInterrupt")["err"].endswith("KeyboardInterrupt\n")
    assert interp.evaluate("import sys; sys.exit()")["cmd_count"] == 1
    assert interp.evaluate("1+1")["out"] == "2\n"


def test_namespace_is_main_and_private_to_each_interpreter() -> None:
    first, second = Interpreter(), Interpreter()
    assert first.evaluate("__name__")["out"] == "'__main__'\n"
    first.evaluate("shared = 1")
    assert "NameError" in second.evaluate("shared")["err"]


def test_underscore_holds_the_last_value() -> None:
    interp = Interpreter()
    interp.evaluate("6 * 7")
    assert interp.evaluate("_ + 1")["out"] == "43\n"


def test_stdout_and_stderr_are_separate() -> None:
    result = Interpreter().evaluate("import sys\nprint('o')\nprint('e', file=sys.stderr)")
    assert result["out"] == "o\n"
    assert result["err"] == "e\n"


def test_repl_semantics_inside_compound_statements() -> None:
    assert Interpreter().evaluate("for i in range(3):\n    i")["out"] == "0\n1\n2\n"


def test_the_result_has_exactly_five_keys_without_rich_output() -> None:
    assert sorted(Interpreter().evaluate("x = 1")) == [
        "cmd_count",
        "err",
        "in",
        "input_count",
        "out",
    ]


def test_empty_code_runs_nothing() -> None:
    result = Interpreter().evaluate("")
    assert (result["cmd_count"], result["out"], result["err"]) == (0, "", "")


def test_output_past_the_limit_is_dropped_with_one_notice() -> None:
    interp = Interpreter(output_limit=1000)
    result = interp.evaluate("for i in range(1000):\n    print('x' * 50)")
    assert len(result["out"]) == 1000
    assert result["err"].count("output limit of 1000 characters reached") == 1
    assert result["cmd_count"] == 1
    assert interp.evaluate("print('next')")["out"] == "next\n"


def test_help_request_cell_shows_introspection() -> None:
    out = Interpreter().evaluate("len?")["out"]
    assert "builtin_function_or_method" in out
    assert "Return the number of items" in out


def test_hooks_are_restored_after_evaluate() -> None:
    import builtins
    import sys

    hook, stdout, original_input = sys.displayhook, sys.stdout, builtins.input
    Interpreter().evaluate("display(1)\n1")
    assert sys.displayhook is hook and sys.stdout is stdout and builtins.input is original_input
    assert not hasattr(builtins, "display")


@pytest.mark.parametrize("answer", ["yes", ""])
def test_input_asks_through_the_callback(answer: str) -> None:
    prompts: list[tuple[str, bool]] = []

    def ask(prompt: str, password: bool) -> str:
        prompts.append((prompt, password))
        return answer

    result = Interpreter(ask_input=ask).evaluate("x = input('Name? ')\nprint(repr(x))")
    assert prompts == [("Name? ", False)]
    assert result["out"] == "Name? %s\n%r\n" % (answer, answer)
