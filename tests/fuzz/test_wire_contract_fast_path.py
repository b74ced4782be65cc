"""The compiled fast path of the wire contract never accepts what the reference validator
refuses: over valid messages mutated at random (a value replaced, a key dropped or added), a
message the fast validator passes has no reference errors. (The other way round is allowed:
when the fast one objects, the reference decides.)"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from qunzu_common.wire_contract import contract_errors, passes_fast_check, validators
from tests.cloud_bridge.signed_alerts import alert_body

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["2026-02-30", "2026-03-01", "2026-03-01T10:00:00+08:00", "20260301",
                       "2026-03-01T10:00", "overcrowding", "water", "bldg.alert/v1", ""]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)  # fmt: skip


def claims() -> dict[str, Any]:
    return {
        "iss": "gw-1",
        "topic": "bldg/v1/gw-1/alert",
        "iat": 1_770_000_000,
        "seq": {"boot_epoch": 1, "counter": 1, "boot_id": "ab" * 8},
        "alert": alert_body(),
    }


def ack() -> dict[str, Any]:
    return {"alert_id": "a-1", "seq": {"boot_epoch": 1, "counter": 2}, "status": "accepted",
            "ticket_id": 3}  # fmt: skip


SAMPLES = {"alert": alert_body, "envelope-claims": claims, "ack": ack}


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*prefix, i))
    return found


def mutate(message: Any, data: st.DataObject) -> Any:
    message = copy.deepcopy(message)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(message)))
        if not path:
            continue
        parent = message
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(JSON)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=6))] = data.draw(JSON)
    return message


def reference_errors(name: str, message: Any) -> list[str]:
    validator: Draft202012Validator = validators()[name]
    return [error.message for error in validator.iter_errors(message)]


def test_the_valid_samples_pass_both() -> None:
    for name, sample in SAMPLES.items():
        assert passes_fast_check(name, sample()) and not reference_errors(name, sample())


@settings(max_examples=1500, deadline=None)
@given(name=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_what_the_fast_path_passes_the_reference_passes(name: str, data: st.DataObject) -> None:
    message = mutate(SAMPLES[name](), data)
    if passes_fast_check(name, message):
        assert reference_errors(name, message) == [], message
    reference = sorted(
        validators()[name].iter_errors(message), key=lambda e: [str(p) for p in e.absolute_path]
    )
    assert contract_errors(name, message) == [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in reference
    ]
