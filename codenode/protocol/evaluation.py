"""An evaluation's messages added up into ``Interpreter.evaluate``'s dict, on the client's side.

A ``result`` carries no output (engine protocol 2): the output came before it, in ``stream``
and ``display`` messages. A client that wants a cell's whole output at its end (the console,
EngineClient, tests, benchmarks) adds each message about the evaluation to an Evaluation::

    evaluation = Evaluation(request_id, code)
    while not evaluation.add(receive()):
        pass
    evaluation.result()   # {'input_count', 'out', 'cmd_count', 'err', 'in', ...}

Standard library only (EngineClient runs on the engine's Python).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    Message = Dict[str, Any]


class Evaluation:
    """The messages about one evaluate request, as they come."""

    def __init__(self, request_id: Any, code: str = "") -> None:
        self.request_id = request_id
        self.code = code
        self.texts: Dict[str, List[str]] = {"stdout": [], "stderr": []}
        self.displays: List[Dict[str, Any]] = []
        self.final: Optional[Message] = None

    def add(self, message: Message) -> bool:
        """Take one message if it is about this evaluation; True once it ended (its result,
        or an error in its place)."""
        if message.get("id") != self.request_id or self.final is not None:
            return self.final is not None
        kind = message.get("type")
        if kind == "stream" and message.get("name") in self.texts:
            self.texts[message["name"]].append(message.get("text", ""))
        elif kind == "display":
            self.displays.append(message.get("data", {}))
        elif kind in ("result", "error"):
            self.final = message
        return self.final is not None

    def result(self) -> Message:
        """The final message, with out, err, in and display (if any) as the engine's
        Interpreter.evaluate has them; an error message stays as it came."""
        if self.final is None or self.final.get("type") != "result":
            return dict(self.final or {})
        result: Message = {
            "id": self.final.get("id"),
            "type": "result",
            "input_count": self.final.get("input_count"),
            "out": "".join(self.texts["stdout"]),
            "cmd_count": self.final.get("cmd_count"),
            "err": "".join(self.texts["stderr"]),
            "in": self.code,
        }
        if self.displays:
            result["display"] = self.displays
        for key, value in self.final.items():
            result.setdefault(key, value)
        return result
