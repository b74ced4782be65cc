"""The relapse watch: within it a linked relapse ticket, after it an ordinary one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.case_file import apply
from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.lifecycle import TicketState as S
from cloud_bridge.cases.relapse import EndedCase, opening_command
from tests.cloud_bridge.cases.case_builders import SYSTEM, T0

ENDED = [
    EndedCase(3, "B3-1204", S.FALSE_ALARM, T0 - timedelta(days=200)),
    EndedCase(7, "B3-1204", S.CLOSED, T0),
    EndedCase(9, "B3-1205", S.CLOSED, T0 + timedelta(days=10)),
]

CASES = [
    ("the day after closing", "B3-1204", 1, 7, S.CLOSED),
    ("the last day of the watch", "B3-1204", 90, 7, S.CLOSED),
    ("after the watch", "B3-1204", 91, None, None),
    ("a unit never seen", "C1-0101", 1, None, None),
    ("the neighbour's ticket is not ours", "B3-1205", 11, 9, S.CLOSED),
    ("an alert before the neighbour's case ended", "B3-1205", 5, None, None),
]


@pytest.mark.parametrize(
    ("unit", "days", "linked", "previous"), [c_[1:] for c_ in CASES], ids=[c_[0] for c_ in CASES]
)
def test_opening(unit: str, days: int, linked: int | None, previous: S | None) -> None:
    command = opening_command(unit, ENDED, T0 + timedelta(days=days), watch_days=90)
    if linked is None:
        assert command == c.Open(unit_id=unit)
    else:
        assert isinstance(command, c.Relapse)
        assert (command.relapse_of, command.previous_state) == (linked, previous)
        assert command.note.startswith(f"relapse of ticket #{linked} (closed ")


def test_a_repeat_alert_after_a_false_alarm_says_so() -> None:
    ended = [EndedCase(3, "u", S.FALSE_ALARM, T0)]
    command = opening_command("u", ended, T0 + timedelta(days=30), watch_days=90, note="alert a-9")
    assert isinstance(command, c.Relapse) and command.previous_state is S.FALSE_ALARM
    assert command.note.endswith("; alert a-9")
    case, step = apply(None, command, SYSTEM, T0 + timedelta(days=30))
    assert (case.state, case.relapse_of, step.from_state) == (S.RELAPSED, 3, None)


def test_the_watch_is_configurable() -> None:
    assert isinstance(opening_command("B3-1204", ENDED, T0 + timedelta(days=20), 14), c.Open)


def test_only_ended_cases_are_watched() -> None:
    with pytest.raises(InvalidCommand, match=r"^state"):
        EndedCase(1, "u", S.RECTIFYING, T0)
