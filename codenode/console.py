"""A terminal console on one engine process: the engine tier, usable before the web UI exists.

It speaks the same wire a backend does, so what works here works in a notebook: streamed
output, ``input()``, interrupt with Ctrl-C, ``name?`` help, rich output named by its type.
"""

from __future__ import annotations

import codeop
import sys
from typing import Any, TextIO

from codenode.engine.client import EngineClient


class Console:
    """Reads cells from the terminal, runs them in an engine, prints what comes back."""

    def __init__(self, engine: EngineClient, out: TextIO = sys.stdout) -> None:
        self.engine = engine
        self.out = out
        self.count = 0

    def read_cell(self) -> str | None:
        """One cell: lines until the code is complete (as at Python's prompt); None at EOF."""
        lines: list[str] = []
        while True:
            prompt = f"In [{self.count + 1}]: " if not lines else "   ...: "
            try:
                line = input(prompt)
            except EOFError:
                return None
            lines.append(line)
            source = "\n".join(lines)
            try:
                complete = codeop.compile_command(source, "<input>", "exec") is not None
            except (SyntaxError, ValueError, OverflowError):
                complete = True  # the engine reports it
            if complete and (len(lines) == 1 or line == ""):
                return source

    def run(self, code: str) -> None:
        """Run one cell, printing output as it streams; Ctrl-C interrupts it."""
        request = self.engine.request("evaluate", code=code)
        while True:
            try:
                message = self.engine.receive()
            except KeyboardInterrupt:
                self.engine.interrupt(request)
                continue
            if self.show(request, message):
                return

    def show(self, request: int, message: dict[str, Any]) -> bool:
        """Print one message; True when it ends the evaluation."""
        kind = message.get("type")
        if kind == "stream":
            target = sys.stderr if message["name"] == "stderr" else self.out
            target.write(message["text"])
            target.flush()
        elif kind == "display":
            kinds = ", ".join(m for m in message["data"] if m != "text/plain")
            self.out.write(f"[{kinds}] {message['data'].get('text/plain', '')}\n")
        elif kind == "input_request":
            try:
                value = input(message["prompt"])
            except EOFError:
                value = ""
            self.engine.send({"id": 0, "op": "input_reply", "value": value})
        elif kind in ("result", "error") and message.get("id") == request:
            self.count = message.get("input_count", self.count)
            return True
        return False

    def loop(self) -> None:
        """Until Ctrl-D."""
        while True:
            try:
                cell = self.read_cell()
            except KeyboardInterrupt:
                self.out.write("\n")
                continue
            if cell is None:
                self.out.write("\n")
                return
            if cell.strip():
                self.run(cell)


def main() -> None:
    """Start an engine and a console on it."""
    with EngineClient(timeout=None) as engine:
        info = engine.call("info")
        print(
            f"Codenode console: Python {info['language_version']} engine, pid {info['pid']}.\n"
            "This drives an engine directly, without a backend (codenode run gives the web UI).\n"
            "A blank line runs a multi-line cell; name? shows help; "
            "Ctrl-C interrupts; Ctrl-D quits."
        )
        Console(engine).loop()
