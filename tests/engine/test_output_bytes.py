"""Whatever a cell prints, every message the engine sends fits in a frame (issue 13).

The output limit counts characters; a frame's limit is in bytes of JSON. A 4-byte emoji, or a
control character that JSON writes as six bytes (``\\u0001``), once counted as one character
each, and the result repeats the whole output: ``print('\\U0001F600' * 17_500_000)`` made a
result of ~72 MB, over the 64 MiB a frame may hold.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from codenode.engine.client import EngineClient
from codenode.engine.interpreter import Interpreter
from codenode.engine.output import DEFAULT_OUTPUT_BYTES, Transcript, json_bytes
from codenode.protocol import engine as wire

EMOJI = "print('\\U0001F600' * 17_500_000)"
CONTROL = "print('\\x01' * 12_000_000)"


def frame_bytes(message: dict[str, Any]) -> int:
    return len(wire.encode(message)) - wire.HEADER_BYTES


def test_two_plus_two_is_unchanged() -> None:
    assert Interpreter().evaluate("2+2") == {
        "input_count": 1,
        "out": "4\n",
        "cmd_count": 1,
        "err": "",
        "in": "2+2",
    }


def test_json_bytes_counts_what_a_frame_holds() -> None:
    assert json_bytes("abc") == 3
    assert json_bytes("\U0001f600") == 4
    assert json_bytes("\x01") == 6  # \u0001
    assert json_bytes('"\n') == 4
    assert json_bytes("\ud800") == 1  # a lone surrogate is sent as "?"


def test_the_transcript_stops_at_its_byte_limit_with_the_notice() -> None:
    transcript = Transcript(limit=1000, byte_limit=100)
    transcript.write("stdout", "\U0001f600" * 30)  # 30 characters, 120 bytes
    transcript.write("stdout", "more")
    transcript.finish()
    assert transcript.out == "\U0001f600" * 25
    assert transcript.err.count("output limit of 100 bytes reached") == 1


def test_the_character_notice_is_kept_when_characters_run_out_first() -> None:
    transcript = Transcript(limit=10, byte_limit=1000)
    transcript.write("stdout", "x" * 20)
    transcript.finish()
    assert transcript.out == "x" * 10
    assert "output limit of 10 characters reached" in transcript.err


@pytest.mark.parametrize("code", [EMOJI, CONTROL], ids=["emoji", "control"])
def test_in_process_the_result_fits_in_a_frame(code: str) -> None:
    result = Interpreter().evaluate(code)
    assert frame_bytes({"id": 1, "type": "result", **result}) <= wire.MAX_FRAME_BYTES
    assert json_bytes(result["out"]) <= DEFAULT_OUTPUT_BYTES
    assert "output limit of 32 MiB reached" in result["err"]


def recording(engine: EngineClient) -> list[int]:
    """The size of every frame the engine sends from now on (its results included)."""
    sizes: list[int] = []
    receive = engine.receive

    def receive_and_measure() -> dict[str, Any]:
        message = receive()
        sizes.append(frame_bytes(message))
        return message

    engine.receive = receive_and_measure  # type: ignore[method-assign]
    return sizes


@pytest.mark.parametrize("code", [EMOJI, CONTROL], ids=["emoji", "control"])
def test_every_frame_of_a_huge_print_fits_and_the_engine_goes_on(code: str) -> None:
    with EngineClient(timeout=20) as engine:
        sizes = recording(engine)
        started = time.monotonic()
        result = engine.evaluate(code)
        took = time.monotonic() - started
        assert max(sizes) <= wire.MAX_FRAME_BYTES
        assert result["out"] and "output limit of 32 MiB reached" in result["err"]
        assert json_bytes(result["out"]) <= DEFAULT_OUTPUT_BYTES
        assert engine.evaluate("1+1")["out"] == "2\n"
        assert took < 15, took


@pytest.mark.slow
def test_a_huge_traceback_and_a_huge_cell_still_fit() -> None:
    with EngineClient(timeout=20) as engine:
        sizes = recording(engine)
        raised = engine.evaluate("raise ValueError('\\x01' * 12_000_000)")
        assert max(sizes) <= wire.MAX_FRAME_BYTES
        assert raised["error"]["ename"] == "ValueError"
        assert "frame limit" in raised["error"]["evalue"] + raised["error"]["traceback"]
        # A huge cell (54 MB as JSON) printing 20 MB: its result no longer repeats either
        # (engine protocol 2), so nothing needs cutting.
        code = "print('x' * 20_000_000)  # " + "\x01" * 9_000_000
        del sizes[:]
        result = engine.evaluate(code)
        assert max(sizes) <= wire.MAX_FRAME_BYTES
        assert sizes[-1] < 100  # the result frame: its counts and id
        assert result["in"] == code and result["out"] == "x" * 20_000_000  # and the limit
        assert engine.evaluate("1+1")["out"] == "2\n"
