"""JSON text of the backend's and the frontend's WebSocket wires (protocol/jsontext.py): the
same values as the standard library's json, faster, and valid JSON where json.dumps is not."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codenode.protocol import jsontext

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(values)
def test_what_is_encoded_decodes_to_the_same_value(value: Any) -> None:
    assert jsontext.decode(jsontext.encode(value)) == value


@given(values, st.booleans())
def test_any_text_json_writes_decodes_as_json_reads_it(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert jsontext.decode(text) == json.loads(text)
    assert jsontext.decode(text.encode()) == json.loads(text)


def test_encoding_is_compact_utf8_text() -> None:
    assert (
        jsontext.encode({"type": "output", "text": "é😀\n"}) == '{"type":"output","text":"é😀\\n"}'
    )


def test_nan_and_infinities_are_written_as_null_which_a_browser_can_parse() -> None:
    text = jsontext.encode({"a": math.nan, "b": math.inf, "c": -math.inf})
    assert json.loads(text) == {"a": None, "b": None, "c": None}


def test_a_lone_surrogate_is_written_escaped_not_refused() -> None:
    text = jsontext.encode({"id": "\ud800", "text": "é"})
    assert text.isascii()
    assert json.loads(text) == {"id": "\ud800", "text": "é"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "\\ud83d"}', {"a": "\ud83d"}),  # a lone surrogate escape
        ('{"big": 1e400}', {"big": math.inf}),
        ('{"n": 123456789012345678901234567890}', {"n": 123456789012345678901234567890}),
    ],
)
def test_what_msgspec_refuses_but_json_takes_decodes_as_before(text: str, expected: Any) -> None:
    assert jsontext.decode(text) == expected


def test_nan_text_decodes_as_before() -> None:
    assert math.isnan(jsontext.decode('{"x": NaN}')["x"])


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "[1, 2", "nope", b"\xff\xfe"])
def test_malformed_text_raises_value_error(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        jsontext.decode(text)
