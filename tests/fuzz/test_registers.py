"""Modbus register decoding on arbitrary words: a float or RegisterDecodeError, never another
exception, for every data type, word order and scale a profile may name."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.registers import (
    DataType,
    ReadBlock,
    RegisterDecodeError,
    RegisterFunction,
    RegisterSpec,
    WordOrder,
    decode_block,
    decode_blocks,
    decode_register,
)

scales = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0)
specs = st.builds(
    RegisterSpec,
    name=st.just("total"),
    quantity=st.sampled_from(["total", "fraction"]),
    function=st.sampled_from(list(RegisterFunction)),
    address=st.integers(0, 0xFFFE),
    dtype=st.sampled_from(list(DataType)),
    word_order=st.sampled_from(list(WordOrder)),
    scale=scales,
)
words = st.lists(
    st.one_of(
        st.integers(0, 0xFFFF),
        st.integers(),
        st.booleans(),
        st.floats(),
        st.none(),
        st.text(max_size=2),
    ),
    max_size=6,
)


@settings(max_examples=700)
@given(spec=specs, raw=words)
def test_decode_register(spec: RegisterSpec, raw: list[object]) -> None:
    try:
        value = decode_register(spec, raw)  # type: ignore[arg-type]
    except RegisterDecodeError:
        return
    assert isinstance(value, float)
    assert math.isnan(value) or isinstance(value, float)


@settings(max_examples=500)
@given(spec=specs, offset=st.integers(0, 3), raw=st.lists(st.integers(0, 0xFFFF), max_size=8))
def test_decode_blocks(spec: RegisterSpec, offset: int, raw: list[int]) -> None:
    start = max(0, spec.address - offset)
    block = ReadBlock(spec.function, start, spec.address - start + spec.count, (spec,))
    try:
        single = decode_block(block, raw)
        both = decode_blocks([(block, raw), (block, raw)])
    except RegisterDecodeError:
        return
    assert set(single) == set(both) == {spec.quantity}
