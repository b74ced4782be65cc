"""The scope rule as a table, and ``district`` of ``[[street_offices]]`` in the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_bridge.auth.identity import Scope, ScopeKind, may_apply
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import load_bridge_config
from cloud_bridge.errors import ConfigError
from cloud_bridge.ticket_states import TicketEvent

DISTRICTS = {"linfen-road": "jingan", "pengpu": "jingan", "hongqiao": "minhang", "lone": None}


@pytest.mark.parametrize(
    ("scope", "office", "covered"),
    [
        (Scope(ScopeKind.CITY), "hongqiao", True),
        (Scope(ScopeKind.OFFICE, "pengpu"), "pengpu", True),
        (Scope(ScopeKind.OFFICE, "pengpu"), "linfen-road", False),
        (Scope(ScopeKind.DISTRICT, "jingan"), "linfen-road", True),
        (Scope(ScopeKind.DISTRICT, "jingan"), "hongqiao", False),
        (Scope(ScopeKind.DISTRICT, "jingan"), "lone", False),
        (Scope(ScopeKind.OFFICE, ""), "lone", False),
    ],
)
def test_scope_covers(scope: Scope, office: str, covered: bool) -> None:
    assert scope.covers(office, DISTRICTS) is covered
    offices = scope.offices(DISTRICTS)
    assert offices is None or (office in offices) is covered


@pytest.mark.parametrize(
    ("role", "event", "allowed"),
    [
        (Role.API_CLIENT, TicketEvent.VISIT, False),
        (Role.INSPECTOR, TicketEvent.VISIT, True),
        (Role.INSPECTOR, TicketEvent.REOPEN, False),
        (Role.DISPATCHER, TicketEvent.VISIT, False),
        (Role.DISPATCHER, TicketEvent.CONFIRM, True),
        (Role.ADMIN, TicketEvent.REOPEN, True),
    ],
)
def test_role_table_for_todays_events(role: Role, event: TicketEvent, allowed: bool) -> None:
    assert may_apply(role, event) is allowed


def test_street_offices_carry_an_optional_district(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        '[[street_offices]]\nid = "linfen-road"\nname = "L"\ndistrict = "jingan"\n'
        '[[street_offices]]\nid = "pengpu"\nname = "P"\n'
    )
    assert dict(load_bridge_config(path).district_of) == {"linfen-road": "jingan", "pengpu": None}
    path.write_text('[[street_offices]]\nid = "x"\nname = "X"\ndistrict = "no spaces allowed"\n')
    with pytest.raises(
        ConfigError, match=r"street_offices\.0\.district|street_offices\[0\]\.district"
    ):
        load_bridge_config(path)
