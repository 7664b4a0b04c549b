"""What a notebook's engine says, handled by message type.

Every message is checked first (``engine_messages.problem``): an engine runs user code, which
can write to the engine's own socket. A malformed message fails the request it names with
why, or is dropped if it names none; the reading goes on, and the backend stays up for
everyone else. A well-formed one goes to its handler:

- ``state``: the engine's state, told to every tab (a death fails what waits for it);
- for an evaluation: ``stream`` and ``display`` (outputs), ``input_request``, ``result``,
  ``error``;
- for a completion or an introspection: ``reply``; anything else ends it with an error;
- output that no request waits for (a background thread's) goes to every tab, cell unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from codenode.frontend.bus import engine_messages
from codenode.frontend.bus.requests import Pending, fail_evaluation
from codenode.protocol import batches, jsontext

if TYPE_CHECKING:
    from codenode.frontend.bus.engine_link import EngineLink

log = logging.getLogger("codenode.frontend.bus")

Message = dict[str, Any]
Handler = Callable[["EngineLink", Message, Pending], None]


def take(link: EngineLink, text: str | bytes) -> None:
    """One frame from the engine's bus (a batch of messages: protocol/batches.py), each
    message checked, then handled, or refused."""
    try:
        messages = batches.split(jsontext.decode(text))
    except Exception as exc:  # not JSON (or nested past what the decoder takes)
        refuse(link, None, f"{type(exc).__name__}: {exc}")
        return
    for message in messages:
        take_one(link, message)


def take_one(link: EngineLink, message: Any) -> None:
    """One message from the engine's bus: checked, then handled, or refused."""
    try:
        why = engine_messages.problem(message)
        if why is None:
            handle(link, message)
            return
    except Exception as exc:  # a message the checks let through and we choke on
        why = f"{type(exc).__name__}: {exc}"
    refuse(link, message, why)


def handle(link: EngineLink, message: Message) -> None:
    """A well-formed message, to the handler of its type (and of the request it answers)."""
    kind = message.get("type")
    if kind == "state":
        on_state(link, message)
        return
    pending = link.requests.get(message.get("id"))
    if pending is None:
        if kind == "stream":  # output between evaluations (a background thread)
            link.tabs.broadcast({"type": "output", "cell_id": None, "output": output(message)})
        return
    if pending.op == "evaluate":
        handler = FOR_EVALUATIONS.get(str(kind))
    else:
        handler = FOR_REQUESTS.get(str(kind), on_request_failed)
    if handler is not None:
        handler(link, message, pending)


def refuse(link: EngineLink, message: Any, why: str) -> None:
    """A malformed message: logged (the first, then one line per thousand), and the request
    it names, if any, fails with why."""
    link.malformed += 1
    if link.malformed == 1 or link.malformed % 1000 == 0:  # one line, not a flood
        log.warning(
            "notebook %s: its engine sent a malformed message (%d so far): %s",
            link.notebook_id,
            link.malformed,
            why,
        )
    pending = link.requests.take(message.get("id") if isinstance(message, dict) else None)
    if pending is not None:
        pending.fail(link.tabs, "EngineError", f"the engine sent a malformed message: {why}")


# -- the engine's state -----------------------------------------------------------------------


def on_state(link: EngineLink, message: Message) -> None:
    """The engine's new state, told to every tab; a death fails what waits for it."""
    state = message.get("state", "dead")
    if state != "dead":
        if state != link.state or link.reason:
            link.set_state(state)
    elif not link.restarting:  # a restart's old process dies: that is no news
        link.fail_all(f"the engine died: {message.get('reason', 'unknown')}")
        link.set_state("dead", str(message.get("reason", "")))


# -- answers to an evaluation -----------------------------------------------------------------


def output(message: Message) -> Message:
    """An output as tabs get it and cells store it."""
    if message["type"] == "stream":
        return {
            "type": "stream",
            "name": message.get("name", "stdout"),
            "text": message.get("text", ""),
        }
    return {"type": "display", "data": message.get("data", {})}


def on_output(link: EngineLink, message: Message, pending: Pending) -> None:
    """Output of the evaluation: kept (if it is still the cell's latest) and shown."""
    assert pending.outputs is not None
    shown = output(message)
    if pending.outputs.current:
        pending.outputs.add(shown)
    link.tabs.broadcast({"type": "output", "cell_id": pending.cell_id, "output": shown})


def on_input_request(link: EngineLink, message: Message, pending: Pending) -> None:
    """The cell called ``input()``: every tab may answer."""
    link.tabs.broadcast(
        {
            "type": "input_request",
            "cell_id": pending.cell_id,
            "prompt": message.get("prompt", ""),
            "password": bool(message.get("password")),
        }
    )


def on_result(link: EngineLink, message: Message, pending: Pending) -> None:
    """The evaluation ended, maybe with an exception (then an error output)."""
    link.requests.take(message["id"])
    outputs = pending.outputs
    assert outputs is not None
    error = message.get("error")
    if error and outputs.current:
        outputs.error(error["ename"], error["evalue"], error.get("traceback", ""))
    outputs.execution_count = message.get("input_count")
    outputs.dirty = outputs.finished = True
    event: Message = {
        "type": "result",
        "cell_id": pending.cell_id,
        "execution_count": outputs.execution_count,
    }
    if error:
        event["error"] = {
            "ename": error["ename"],
            "evalue": error["evalue"],
            "traceback": error.get("traceback", ""),
        }
    link.tabs.broadcast(event)


def on_evaluation_error(link: EngineLink, message: Message, pending: Pending) -> None:
    """The engine could not run the evaluation: it fails, saying why."""
    link.requests.take(message["id"])
    assert pending.cell_id is not None and pending.outputs is not None
    why = str(message.get("message", ""))
    fail_evaluation(link.tabs, pending.cell_id, pending.outputs, "EngineError", why)


FOR_EVALUATIONS: dict[str, Handler] = {
    "stream": on_output,
    "display": on_output,
    "input_request": on_input_request,
    "result": on_result,
    "error": on_evaluation_error,
}


# -- answers to a completion or an introspection ----------------------------------------------


def on_reply(link: EngineLink, message: Message, pending: Pending) -> None:
    """The answer to a completion or an introspection, for the tab that asked."""
    link.requests.take(message["id"])
    if pending.tab is not None:
        pending.tab.send(
            {
                "type": "reply",
                "id": pending.tab_id,
                "op": pending.op,
                "content": message.get("content", {}),
            }
        )


def on_request_failed(link: EngineLink, message: Message, pending: Pending) -> None:
    """Anything but a reply ends a completion or an introspection with an error."""
    link.requests.take(message["id"])
    if pending.tab is not None:
        pending.tab.send({"type": "error", "id": pending.tab_id, "message": message.get("message")})


FOR_REQUESTS: dict[str, Handler] = {"reply": on_reply}
