"""bounded_json on arbitrary bytes, arbitrary text and deep or long documents: a value or a
JsonLimitError, never RecursionError, UnicodeDecodeError or anything else; and the same value
as json.loads whenever the limits allow the document."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qunzu_common.bounded_json import JsonLimitError, JsonLimits, loads_bounded

JSONISH = '[]{}",:\\ 0123456789.eE-+truefalsn\u00e9\ud800'
LIMITS = JsonLimits(max_bytes=4096, max_depth=8, max_items=64, max_string_chars=256)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=12,
)


def parse(raw: bytes | str) -> object:
    try:
        return loads_bounded(raw, LIMITS)
    except JsonLimitError as err:
        assert err.limit in ("bytes", "utf8", "depth", "items", "string", "number", "syntax")
        return err


@settings(max_examples=1500)
@given(st.binary(max_size=600))
def test_arbitrary_bytes(raw: bytes) -> None:
    # Fails on any exception other than JsonLimitError, or a limit name it does not know.
    parse(raw)


@settings(max_examples=700)
@given(
    st.text(
        alphabet=st.sampled_from('[]{}",:\\ 0123456789.eE-+truefalsn\u00e9\ud800'), max_size=300
    )
)
def test_json_like_text(raw: str) -> None:
    # Fails on any exception other than JsonLimitError, or a limit name it does not know.
    parse(raw)


@settings(max_examples=300)
@given(json_values)
def test_documents_within_the_limits_read_as_json_loads_reads_them(value: object) -> None:
    text = json.dumps(value)
    result = parse(text.encode())
    if not isinstance(result, JsonLimitError):
        assert result == json.loads(text)


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from("[{"))
def test_any_depth_is_refused_by_the_depth_limit(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    doc = opener * depth + closer * depth
    limits = JsonLimits(max_bytes=10**6, max_depth=8)
    if depth <= 8:
        if opener == "[":
            loads_bounded(doc, limits)
        return
    with pytest.raises(JsonLimitError) as caught:
        loads_bounded(doc, limits)
    assert caught.value.limit in ("depth", "syntax")
