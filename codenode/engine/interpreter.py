"""The Interpreter: Python's REPL as an object that evaluates code given as a string.

>>> from codenode.engine import interpreter
>>> in1 = interpreter.Interpreter()
>>> in1.evaluate('2+2')
{'input_count': 1, 'out': '4\\n', 'cmd_count': 1, 'err': '', 'in': '2+2'}

Each top-level statement runs as a REPL line would ("single" mode): a bare expression prints its
repr. Errors become a REPL-style traceback in ``err``, without frames of Codenode's own code.
Each Interpreter has its own namespace. Standard library only; jedi and matplotlib are used
when the hosting Python has them.
"""

from __future__ import annotations

import builtins
import sys

from codenode.engine import completion, display, introspection
from codenode.engine.output import DEFAULT_OUTPUT_LIMIT, PythonCapture, Transcript

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, TracebackType
    from typing import Any, Callable, Dict, List, Optional, Protocol, Set

    AskInput = Callable[[str, bool], str]

    class Capture(Protocol):
        """Where an evaluation's output is gathered from (see output.PythonCapture)."""

        def start(self, transcript: Transcript) -> None: ...
        def flush(self) -> None: ...
        def stop(self) -> None: ...


FILENAME = "<input>"
# Frames from files in this folder are Codenode's own: never shown in a user's traceback.
_ENGINE_DIR = __file__.rsplit("/", 1)[0] + "/"


class Interpreter:
    """A Python namespace plus the means to run code in it and report what happened."""

    def __init__(
        self,
        namespace: Optional[Dict[str, Any]] = None,
        *,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        capture: Optional[Capture] = None,
        ask_input: Optional[AskInput] = None,
    ) -> None:
        self.namespace: Dict[str, Any] = namespace if namespace is not None else {}
        self.namespace.setdefault("__name__", "__main__")
        self.namespace.setdefault("__builtins__", builtins)
        self.input_count = 0
        self.output_limit = output_limit
        self.capture: Capture = capture if capture is not None else PythonCapture()
        self.ask_input = ask_input
        # True only while user code runs: the engine turns SIGINT into KeyboardInterrupt then.
        self.running = False
        # An interrupt that came before user code started (the evaluation was queued or being
        # compiled): the next statement is interrupted as soon as it starts.
        self.interrupt_pending = False
        # The exception that ended the last evaluation ({"ename", "evalue", "traceback"}), or
        # None: the result dict stays the seed's; the engine server adds this to its result.
        self.last_error: Optional[Dict[str, str]] = None
        # Applied to each cell's code before it is compiled (Sage's preparser, for one).
        self.transform: Optional[Callable[[str], str]] = None
        self._figures = display.Figures()
        self._transcript: Optional[Transcript] = None

    # -- evaluate -------------------------------------------------------------------------

    def evaluate(
        self, code: str, listener: Optional[Callable[[str, Any], None]] = None
    ) -> Dict[str, Any]:
        """Run code; return input_count, out, cmd_count, err, in (and display if any).

        ``listener(kind, value)`` sees output as it is produced: kind is 'stdout' or 'stderr'
        with text, or 'display' with a MIME bundle.
        """
        self.input_count += 1
        self.last_error = None
        transcript = Transcript(self.output_limit, listener)
        self._transcript = transcript
        saved = self._install_hooks()
        self.capture.start(transcript)
        try:
            help_request = introspection.parse_help_request(code)
            if help_request is not None:
                expr, detail = help_request
                info = introspection.introspect(self.namespace, expr, detail)
                transcript.write("stdout", introspection.format_introspection(info))
                cmd_count = 1
            else:
                cmd_count = self._run(self._transformed(code, transcript), transcript)
            for bundle in self._figures.collect():
                transcript.display(bundle)
            self.capture.flush()
        finally:
            self.capture.stop()
            self._restore_hooks(saved)
            self._transcript = None
        transcript.finish()
        result: Dict[str, Any] = {
            "input_count": self.input_count,
            "out": transcript.out,
            "cmd_count": cmd_count,
            "err": transcript.err,
            "in": code,
        }
        if transcript.displays:
            result["display"] = transcript.displays
        return result

    def _run(self, code: str, transcript: Transcript) -> int:
        """Compile every statement first (a SyntaxError runs nothing), then run them in order."""
        try:
            statements = self._compile(code)
        except (SyntaxError, ValueError, OverflowError) as exc:
            transcript.notice(self._note_error(exc, with_traceback=False))
            return 0
        completed = 0
        for statement in statements:
            try:
                self.running = True
                if self.interrupt_pending:
                    self.interrupt_pending = False
                    raise KeyboardInterrupt
                exec(statement, self.namespace)
                self.running = False
            except BaseException as exc:  # the REPL survives everything, SystemExit included
                self.running = False
                self.capture.flush()
                transcript.notice(self._note_error(exc, with_traceback=True))
                return completed
            completed += 1
            self._figures.prepare(self._emit)
        return completed

    def _note_error(self, exc: BaseException, with_traceback: bool) -> str:
        """Remember the exception that ended the evaluation; its report, for stderr."""
        report = _format_exception(exc, with_traceback)
        self.last_error = {"ename": type(exc).__name__, "evalue": str(exc), "traceback": report}
        return report

    def _transformed(self, code: str, transcript: Transcript) -> str:
        if self.transform is None:
            return code
        try:
            return self.transform(code)
        except Exception as exc:  # the cell is reported as not run, with the reason
            transcript.notice(_format_exception(exc, with_traceback=False))
            return ""

    def _compile(self, code: str) -> List[CodeType]:
        import ast  # here, not at the top: it is not needed until the first cell

        tree = ast.parse(code, FILENAME, "exec")
        return [
            compile(ast.Interactive(body=[node]), FILENAME, "single", dont_inherit=True)
            for node in tree.body
        ]

    # -- hooks active while code runs -----------------------------------------------------

    def _install_hooks(self) -> Any:
        saved = (sys.displayhook, builtins.__dict__.get("display"), builtins.input)
        sys.displayhook = self._displayhook
        builtins.display = self.display  # type: ignore[attr-defined]
        builtins.input = self._input
        return saved

    def _restore_hooks(self, saved: Any) -> None:
        sys.displayhook, old_display, builtins.input = saved
        if old_display is None:
            builtins.__dict__.pop("display", None)
        else:
            builtins.display = old_display  # type: ignore[attr-defined]

    def _displayhook(self, value: Any) -> None:
        """What the REPL does with a bare expression's value: print it, keep it as ``_``.

        The repr always goes to out (the REPL's contract); a value that can show itself
        richly (an image, HTML, LaTeX...) is also sent as a display bundle.
        """
        if value is None:
            return
        self.namespace["_"] = value
        bundle = display.mime_bundle(value)
        text = repr(value) if bundle is None else str(bundle.get("text/plain", repr(value)))
        sys.stdout.write(text + "\n")
        if bundle is not None:
            if display.is_figure(value):
                self._figures.mark_shown(value)
            self._emit(bundle)

    def display(self, *objects: Any, raw: bool = False) -> None:
        """Show objects as rich output in the cell (``display()`` in user code)."""
        for obj in objects:
            if raw and isinstance(obj, dict):
                self._emit(obj)
                continue
            if display.is_figure(obj):
                self._figures.mark_shown(obj)
            bundle = display.mime_bundle(obj)
            self._emit(bundle if bundle is not None else display.plain_bundle(obj))

    def _emit(self, bundle: Dict[str, Any]) -> None:
        if self._transcript is None:  # display() called outside an evaluation
            sys.stdout.write(str(bundle.get("text/plain", "")) + "\n")
            return
        self.capture.flush()  # keeps displays in order with the text printed before them
        self._transcript.display(bundle)

    def _input(self, prompt: object = "") -> str:
        text = str(prompt)
        self.capture.flush()
        if self.ask_input is not None:
            value = self.ask_input(text, False)
        else:  # in-process: ask on the real terminal, if there is one
            terminal_out, terminal_in = sys.__stdout__, sys.__stdin__
            if terminal_out is None or terminal_in is None:
                raise EOFError("input(): no terminal to ask on")
            terminal_out.write(text)
            terminal_out.flush()
            line = terminal_in.readline()
            if not line:
                raise EOFError("EOF when reading a line")
            value = line.rstrip("\n")
        if self._transcript is not None:
            self._transcript.write("stdout", text + value + "\n")
        return value

    # -- second-order methods -------------------------------------------------------------

    def complete(self, text: str, cursor: Optional[int] = None) -> Dict[str, Any]:
        """Completions at cursor: matches, and the span of text they replace."""
        return completion.complete(self.namespace, text, cursor)

    def introspect(self, expr: str, detail: int = 0) -> Dict[str, Any]:
        """Type, signature, docstring and source file of the object named by expr."""
        return introspection.introspect(self.namespace, expr, detail)


def _format_exception(exc: BaseException, with_traceback: bool) -> str:
    """A REPL-style report of exc, without Codenode's own frames."""
    import traceback

    tb: Optional[TracebackType] = exc.__traceback__ if with_traceback else None
    report = traceback.TracebackException(type(exc), exc, tb)
    _drop_own_frames(report, set())
    return "".join(report.format()) + _full_disk_note(exc)


# Where a sandboxed engine writes, and what limits each (docs/plugins.md).
_LIMITED = (("/workspace", "workspace", "workspace_mb"), ("/tmp", "private /tmp", "tmp_mb"))


def _full_disk_note(exc: BaseException) -> str:
    """For a write that found no space: which of the engine's file systems is full, and its
    size (a limit of its engine type), so that "No space left" says what to delete."""
    import errno
    import os

    if not isinstance(exc, OSError) or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return ""
    if os.environ.get("HOME") != "/workspace":  # not sandboxed: the machine's own disks
        return ""
    for folder, name, limit in _LIMITED:
        try:
            stats = os.statvfs(folder)
        except OSError:
            continue
        size = stats.f_blocks * stats.f_frsize
        if size and stats.f_bavail * stats.f_frsize < max(size // 100, 1 << 20):
            return (
                "The %s is full: %.0f MiB, the size its engine type gives it (%s)."
                " Delete files there to write again.\n" % (name, size / (1 << 20), limit)
            )
    return ""


def _drop_own_frames(report: Any, seen: Set[int]) -> None:
    """Remove engine frames from report and the exceptions chained to it."""
    import traceback

    if report is None or id(report) in seen:
        return
    seen.add(id(report))
    frames = [f for f in report.stack if not f.filename.startswith(_ENGINE_DIR)]
    report.stack = traceback.StackSummary.from_list(frames)
    _drop_own_frames(report.__cause__, seen)
    _drop_own_frames(report.__context__, seen)
