"""The ``ipython`` engine type's interpreter: IPython's own InteractiveShell inside the Codenode
engine, so that magics (``%time``, ``%pip``), ``!shell`` commands, ``;`` to hide a value, the
display hook, ``display()`` and ``IPython.display`` objects, and IPython's tracebacks come from
IPython itself (``--interpreter codenode.engine.ipython:IPythonInterpreter``; plugins/ipython.py).

The seed's ``python`` type is untouched: this module is imported only by engines of this type,
which need IPython installed (``pip install 'codenode[ipython]'``). What changes against the
Interpreter it extends is how a cell runs (``run_cell``) and where IPython's output goes:

- a value the display hook shows (the last expression, unless the cell ends in ``;``) goes to
  ``out`` as its text, or as one display bundle if it can show itself richly (never both);
- ``display()`` and IPython's display publisher send bundles to the cell, in order with prints;
- a traceback goes to ``err``, and the error to ``last_error``, as the python type's do.

Each engine gets a fresh shell on its own namespace; a template has built one already, so
IPython's modules are loaded and shared when an engine forks (docs/templates.md).
"""

from __future__ import annotations

import sys

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from codenode.engine.interpreter import Interpreter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from codenode.engine.output import Transcript


class CodenodeDisplayHook(DisplayHook):
    """The last expression's value: its text to stdout, or its rich bundle as a display."""

    def write_output_prompt(self) -> None:
        """No ``Out[n]:``: the page shows the execution count beside the output."""

    def write_format_data(self, format_dict: Dict[str, Any], md_dict: Any = None) -> None:
        if set(format_dict) <= {"text/plain"}:
            sys.stdout.write(str(format_dict.get("text/plain", "")) + "\n")
            return
        _owner(self.shell).show(dict(format_dict))

    def finish_displayhook(self) -> None:
        sys.stdout.flush()


class CodenodeDisplayPublisher(DisplayPublisher):
    """``display()``, IPython.display objects and ``publish_display_data`` to the cell."""

    def publish(
        self,
        data: Dict[str, Any],
        metadata: Any = None,
        source: Any = None,
        *,
        transient: Any = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        _owner(self.shell).show(dict(data))

    def clear_output(self, wait: bool = False) -> None:
        """Not carried yet: a cell's outputs are cleared when it runs again."""


class CodenodeShell(InteractiveShell):
    """InteractiveShell whose displays and tracebacks reach the Codenode transcript."""

    displayhook_class = CodenodeDisplayHook
    display_pub_class = CodenodeDisplayPublisher
    codenode: Optional[IPythonInterpreter] = None

    def _showtraceback(self, etype: Any, evalue: Any, stb: List[str]) -> None:
        owner = _owner(self)
        report = self.InteractiveTB.stb2text(stb) + "\n"
        owner.capture.flush()  # the traceback after what the cell printed before it
        sys.stderr.write(report)
        owner.last_error = {
            "ename": getattr(etype, "__name__", str(etype)),
            "evalue": str(evalue),
            "traceback": report,
        }

    def system(self, cmd: str) -> None:
        """``!command``: run by /bin/sh, its output (stderr with stdout) written to the cell as
        it comes. IPython runs it in a pseudo-terminal on POSIX: a sandboxed engine has none,
        and the output must reach the cell's transcript, in process as in an engine. Its exit
        status is ``_exit_code``, as in IPython."""
        import codecs
        import os
        import subprocess

        command = self.var_expand(cmd, depth=1)  # type: ignore[no-untyped-call]
        decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character may straddle
        sys.stdout.flush()
        process = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        try:
            while True:
                chunk = os.read(process.stdout.fileno(), 65536)
                sys.stdout.write(decoder.decode(chunk, final=not chunk))
                if not chunk:
                    break
            self.user_ns["_exit_code"] = process.wait()
        except BaseException:  # an interrupt: the command goes with the cell
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()

    def enable_gui(self, gui: Any = None) -> None:
        """No GUI event loop in an engine: figures are drawn off-screen and shown as images."""


def _owner(shell: Any) -> IPythonInterpreter:
    owner = getattr(shell, "codenode", None)
    if owner is None:
        raise RuntimeError("an IPython shell outside a Codenode engine")
    return owner  # type: ignore[no-any-return]


def _ipython_dir() -> str:
    """IPython's folder (its profile), one per user id: a template or spare builds a shell as
    the backend's user before its engine becomes the workspace's, which could not write in a
    folder the first had made."""
    import os
    import tempfile

    base = os.environ.get("IPYTHONDIR") or os.path.join(tempfile.gettempdir(), "ipython")
    return "%s-%d" % (base, os.getuid())


def _config() -> Config:
    config = Config()
    config.HistoryManager.enabled = False  # its thread would make forking unsafe; no file kept
    config.InteractiveShell.colors = "linux"  # ANSI colours, as Jupyter's tracebacks have
    config.InteractiveShell.autocall = 0
    return config


class IPythonInterpreter(Interpreter):
    """The Interpreter, with each cell run by IPython's InteractiveShell."""

    def __init__(self, namespace: Optional[Dict[str, Any]] = None, **options: Any) -> None:
        super().__init__(namespace, **options)
        CodenodeShell.clear_instance()  # a template's, or the last engine's in this process
        self.shell = CodenodeShell.instance(
            config=_config(), user_ns=self.namespace, ipython_dir=_ipython_dir()
        )
        self.shell.codenode = self

    def show(self, bundle: Dict[str, Any]) -> None:
        """A display bundle to the cell (or, outside an evaluation, its text to stdout)."""
        self._emit(bundle)

    def _run(self, code: str, transcript: Transcript) -> int:
        """The cell through run_cell: 1 if it ran to its end, else 0 (its error is reported)."""
        self.running = True
        try:
            if self.interrupt_pending:
                self.interrupt_pending = False
                raise KeyboardInterrupt
            result = self.shell.run_cell(code, store_history=True)  # type: ignore[no-untyped-call]
        except KeyboardInterrupt as exc:  # between IPython's own steps, not in user code
            self.running = False
            self.shell.showtraceback((type(exc), exc, exc.__traceback__))
            return 0
        finally:
            self.running = False
        self.capture.flush()
        return 1 if result.success else 0

    @property
    def execution_count(self) -> int:
        """IPython's count of the cells it has run."""
        return int(self.shell.execution_count)
