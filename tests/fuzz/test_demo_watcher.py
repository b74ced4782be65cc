"""The demo's wire watcher on arbitrary messages (anyone on the broker may publish): a line or
an "unreadable" line, never an exception (it runs in paho's network thread)."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from building_demo.progress import WireEvent, describe

values = st.recursive(
    st.none() | st.integers() | st.floats() | st.text(max_size=5),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["alert", "kind", "estimated_occupancy", "point", "gateway_id", "state"]
            ),
            c,
            max_size=4,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=500)
@given(
    leaf=st.sampled_from(["alert", "ack", "status", "summary", "other"]),
    payload=st.binary(max_size=200)
    | values.map(lambda v: json.dumps(v).encode())
    | values.map(lambda v: b"h." + base64.urlsafe_b64encode(json.dumps(v).encode()) + b".s"),
)
def test_any_message(leaf: str, payload: bytes) -> None:
    event = describe(f"bldg/v1/gw-1/{leaf}", payload)
    assert event is None or isinstance(event, WireEvent)
