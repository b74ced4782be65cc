"""Commands and steps to JSON and back: the whole loop survives storage and replays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.case_file import replay
from cloud_bridge.cases.command_codec import (
    COMMAND_FIELDS,
    command_from_mapping,
    command_to_mapping,
    step_from_mapping,
    step_to_mapping,
)
from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.lifecycle import Event
from cloud_bridge.cases.lifecycle import TicketState as S
from tests.cloud_bridge.cases.case_builders import CROWDED, FULL_LOOP, run


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def test_the_table_covers_every_event() -> None:
    assert set(COMMAND_FIELDS) == set(Event)
    assert all(cls.event is event for event, (cls, _) in COMMAND_FIELDS.items())


def test_a_stored_case_file_replays_to_the_same_case() -> None:
    case, steps = run(FULL_LOOP)
    stored = through_json([step_to_mapping(step) for step in steps])
    assert stored[1] == {
        "at": "2026-11-30T09:00:00+08:00",
        "event": "dispatch",
        "from_state": "new",
        "to_state": "dispatched",
        "actor": {"id": "cloud-bridge", "role": "system"},
        "note": "",
        "command": {
            "event": "dispatch",
            "street_office": "linfen",
            "visit_due": "2026-12-03T09:00:00+08:00",
            "note": "",
        },
    }
    loaded = [step_from_mapping(data) for data in stored]
    assert loaded == steps
    assert replay(loaded) == case


COMMANDS = [
    c.Relapse(unit_id="B3-1204", relapse_of=4, previous_state=S.FALSE_ALARM, note="n"),
    c.Dismiss(reason=c.DismissReason.OTHER, note="a home business"),
    c.RevisitFailed(findings=CROWDED),
    c.Confirm(),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda cmd: str(cmd.event))
def test_command_round_trip(command: c.Command) -> None:
    assert command_from_mapping(through_json(command_to_mapping(command))) == command


BAD: list[tuple[Any, str]] = [
    ([], "command: an object"),
    ({"event": "close"}, "command.event: one of open, relapse"),
    ({"event": "assign"}, "command.inspector: required"),
    ({"event": "assign", "inspector": "i-1", "officer": "x"}, "command.officer: unknown field"),
    ({"event": "assign", "inspector": 7}, "command.inspector: text"),
    ({"event": "assign", "inspector": " i-1"}, "command.inspector: an id"),
    ({"event": "schedule_visit", "visit_at": "2026-12-01T14:00"}, "command.visit_at: an ISO 8601"),
    ({"event": "schedule_visit", "visit_at": "tomorrow"}, "command.visit_at: an ISO 8601"),
    (
        {"event": "dismiss", "reason": "tenants_left"},
        "command.reason: one of verified_large_family",
    ),
    ({"event": "dismiss", "reason": "other"}, "command.note: required when"),
    (
        {"event": "record_visit", "findings": {"people_found": 2, "photos": ["x"]}},
        "command.findings.photos[0]",
    ),
    (
        {"event": "relapse", "unit_id": "u", "relapse_of": "7", "previous_state": "closed"},
        "command.relapse_of",
    ),
    ({"event": "confirm", "note": 3}, "command.note: text"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_commands_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        command_from_mapping(data)
    assert str(caught.value).startswith(message)


def test_bad_steps_name_the_field() -> None:
    _, steps = run(FULL_LOOP[:2])
    good = through_json(step_to_mapping(steps[1]))
    for change, message in [
        ({"actor": "system"}, "step.actor: an object"),
        ({"actor": {"id": "x", "role": "mayor"}}, "step.actor.role: one of"),
        ({"to_state": "done"}, "step.to_state: one of"),
        ({"at": "2026-11-30"}, "step.at: an ISO 8601"),
    ]:
        with pytest.raises(InvalidCommand) as caught:
            step_from_mapping(good | change)
        assert str(caught.value).startswith(message)
