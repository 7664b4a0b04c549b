"""A running cell's outputs as the frontend stores them: merged, and capped honestly."""

from __future__ import annotations

from codenode.frontend.bus.outputs import CellOutputs


def stream(text: str, name: str = "stdout") -> dict[str, str]:
    return {"type": "stream", "name": name, "text": text}


def test_chunks_of_one_stream_are_merged() -> None:
    outputs = CellOutputs(cap=100)
    for chunk in ("a", "b", "c"):
        outputs.add(stream(chunk))
    outputs.add(stream("!", "stderr"))
    assert outputs.items == [stream("abc"), stream("!", "stderr")]


def test_the_chunk_that_crosses_the_cap_is_kept_up_to_it_and_the_notice_says_so() -> None:
    outputs = CellOutputs(cap=2_000_000)
    outputs.add(stream("x" * 65_643))
    outputs.add(stream("y" * 3_000_000))  # one big chunk: once dropped whole
    outputs.add(stream("z" * 10))  # after the cap: not stored
    text = outputs.items[0]["text"]
    assert text == "x" * 65_643 + "y" * (2_000_000 - 65_643)
    notice = outputs.items[1]
    assert notice["name"] == "stderr"
    assert "stored the first 2,000,000 characters" in notice["text"]


def test_a_display_past_the_cap_is_not_stored_and_the_count_is_what_was() -> None:
    outputs = CellOutputs(cap=1_000)
    outputs.add(stream("a" * 300))
    outputs.add({"type": "display", "data": {"image/png": "A" * 5_000}})
    assert [item["type"] for item in outputs.items] == ["stream", "stream"]
    assert "stored the first 300 characters" in outputs.items[1]["text"]


def test_an_error_is_stored_past_the_cap() -> None:
    outputs = CellOutputs(cap=10)
    outputs.add(stream("a" * 50))
    outputs.error("ZeroDivisionError", "division by zero", "Traceback ...")
    assert outputs.items[-1]["ename"] == "ZeroDivisionError"
