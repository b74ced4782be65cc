"""The relapse watch: an alert on a unit soon after its last case ended opens a linked case.

A closed case (rectified, re-visit passed) or a dismissed one (false alarm) is watched for
``relapse_watch_days`` (default 90) from the moment it ended. A new alert on the same unit
within the watch starts a NEW ticket in state ``relapsed``, linked to the earlier one by
``relapse_of``; after the watch it starts an ordinary ``new`` ticket.

Why a new linked ticket rather than reopening the old one:

- verdicts stay immutable: the old ticket's ``confirmed`` or ``false_alarm`` is a measurement
  (precision, :mod:`~cloud_bridge.cases.precision`) and a closed loop (rectified, re-visited);
  reopening would rewrite it, or leave one ticket with two verdicts;
- per-ticket measures keep their meaning (discovery to visit, days to rectify), and "relapses"
  is a count of linked tickets, not a guess from a reopened history;
- the case file stays append-only and the storage rule "one open ticket per unit and kind"
  holds without exceptions;
- nothing is lost: the household's file (一户一档) is the chain of its tickets, and the link is
  what lets the shell show the earlier history on the new ticket.

A relapse after a false alarm is kept apart by ``previous_state``: it is not a relapse of a group
rental but a repeat alert on a unit once dismissed, which an inspector should see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloud_bridge.cases.commands import Open, Relapse, require_aware
from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.lifecycle import TERMINAL_STATES, TicketState

__all__ = ["EndedCase", "opening_command", "watched_until"]


@dataclass(frozen=True, slots=True)
class EndedCase:
    """An earlier ticket of the unit that ended (closed or false alarm) at ``ended_at``."""

    ticket_id: int
    unit_id: str
    state: TicketState
    ended_at: datetime

    def __post_init__(self) -> None:
        if self.state not in TERMINAL_STATES:
            raise InvalidCommand("state", "closed or false_alarm")
        require_aware("ended_at", self.ended_at)


def watched_until(ended: EndedCase, watch_days: int) -> datetime:
    return ended.ended_at + timedelta(days=watch_days)


def opening_command(
    unit_id: str, ended: Iterable[EndedCase], alert_at: datetime, watch_days: int, note: str = ""
) -> Open | Relapse:
    """The command that opens the case for an alert on ``unit_id`` at ``alert_at``: a
    :class:`Relapse` linked to the unit's latest ended case if the alert is within its watch,
    an :class:`Open` otherwise. ``ended`` may hold other units' cases; they are ignored."""
    require_aware("alert_at", alert_at)
    mine = [e for e in ended if e.unit_id == unit_id and e.ended_at <= alert_at]
    if mine:
        latest = max(mine, key=lambda e: (e.ended_at, e.ticket_id))
        if alert_at <= watched_until(latest, watch_days):
            said = (
                f"relapse of ticket #{latest.ticket_id} ({latest.state} {latest.ended_at:%Y-%m-%d})"
            )
            return Relapse(
                unit_id=unit_id,
                relapse_of=latest.ticket_id,
                previous_state=latest.state,
                note=f"{said}; {note}" if note else said,
            )
    return Open(unit_id=unit_id, note=note)
