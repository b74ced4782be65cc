"""The role table as a matrix, and the actor type."""

from __future__ import annotations

import pytest

from cloud_bridge.cases.errors import InvalidCommand, NotPermitted
from cloud_bridge.cases.lifecycle import Event
from cloud_bridge.cases.roles import PERMISSIONS, Actor, Role, check_permitted, roles_allowed

# event: admin, dispatcher, inspector, api_client, system
MATRIX = {
    "open": "YY--Y",
    "relapse": "Y---Y",
    "dispatch": "YY--Y",
    "reroute": "YY---",
    "assign": "YY---",
    "reassign": "YY---",
    "schedule_visit": "YYY--",
    "record_visit": "Y-Y--",
    "confirm": "YYY--",
    "dismiss": "YYY--",
    "order_rectification": "YYY--",
    "extend_rectification": "YY---",
    "report_rectification": "YYY--",
    "revisit_falls_due": "Y---Y",
    "revisit_passed": "Y-Y--",
    "revisit_failed": "Y-Y--",
}
ROLES = [Role.ADMIN, Role.DISPATCHER, Role.INSPECTOR, Role.API_CLIENT, Role.SYSTEM]


@pytest.mark.parametrize(("event", "marks"), MATRIX.items())
def test_role_table(event: str, marks: str) -> None:
    expected = {role for role, mark in zip(ROLES, marks, strict=True) if mark == "Y"}
    assert {role for role in Role if Event(event) in PERMISSIONS[role]} == expected
    assert set(roles_allowed(Event(event))) == expected


def test_the_matrix_covers_every_event_and_role() -> None:
    assert set(MATRIX) == set(Event)
    assert set(PERMISSIONS) == set(Role)
    assert PERMISSIONS[Role.API_CLIENT] == frozenset()


def test_inspectors_act_on_their_own_cases_only() -> None:
    me = Actor("i-wang", Role.INSPECTOR)
    check_permitted(me, Event.RECORD_VISIT, "i-wang")
    with pytest.raises(NotPermitted) as caught:
        check_permitted(me, Event.RECORD_VISIT, "i-zhao")
    assert caught.value.allowed_roles == ("admin", "inspector")
    check_permitted(Actor("a-1", Role.ADMIN), Event.RECORD_VISIT, "i-zhao")


@pytest.mark.parametrize(
    ("actor_id", "role"), [("", Role.ADMIN), (" x", Role.ADMIN), ("x", "boss")]
)
def test_actor_is_an_account_not_free_text(actor_id: str, role: Role) -> None:
    with pytest.raises(InvalidCommand, match=r"^actor"):
        Actor(actor_id, role)
    assert str(Actor("d-li", Role.DISPATCHER)) == "dispatcher:d-li"
