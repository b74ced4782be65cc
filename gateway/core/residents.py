"""Who lives here: the door-lock credentials of a unit's own household, and whether they are
still coming home.

A visit and a group rental look the same on every meter for their first days: more water, more
electricity, more people through the door. The lock tells them apart. During a visit the
household's own fingerprints, cards and PINs keep opening the door; a group rental that replaced
the household shows only new ones. So while a unit's baseline is learned, the credentials that
open its door on at least ``min_days`` of its ordinary days (not over the cap: the caller passes
no lock day for the others, so neither guests nor a crowd that moved in early are learned as the
household) become its **resident credentials**; later,
when one of them has opened the door within the last ``present_days`` days, the household is
still there, and the detector waits longer before opening a case (``DecisionParams``
``resident_sustain_days``): guests leave within a week, a crowd stays.

It only delays, never suppresses: a household that sublets beds while staying (a resident
"second landlord") is still a group rental, found a few days later. Units without a lock, or
whose lock was heard only after the baseline was learned, have no resident credentials and are
judged as before. Credentials here are the gateway's pseudonyms (``gateway.ble.credentials``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway.core.lock_activity import LockDay


@dataclass(frozen=True, slots=True)
class ResidentParams:
    min_days: int = 3  # days a credential opened the door while the baseline was learned
    present_days: int = 2  # a resident credential seen this recently: the household is here
    # Strangers' credentials in those days, with none of the household's: others live here now
    # (one stranger may be a guest the household let in with a PIN of its own).
    min_newcomers: int = 2


@dataclass(frozen=True, slots=True)
class Residents:
    """Days each credential opened the door while learning; ``learned`` once the baseline is."""

    days_seen: Mapping[str, int] = field(default_factory=dict)
    learned: frozenset[str] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "days_seen": dict(self.days_seen),
            "learned": None if self.learned is None else sorted(self.learned),
        }

    @classmethod
    def from_dict(cls, data: object) -> Residents:
        """Reads what :meth:`to_dict` wrote; anything else starts learning again."""
        if not isinstance(data, Mapping):
            return cls()
        days_seen, learned = data.get("days_seen"), data.get("learned")
        if not isinstance(days_seen, Mapping) or not (learned is None or isinstance(learned, list)):
            return cls()
        try:
            return cls(
                days_seen={str(k): int(v) for k, v in days_seen.items()},
                learned=None if learned is None else frozenset(str(c) for c in learned),
            )
        except (TypeError, ValueError):
            return cls()


def learn_residents(
    residents: Residents, lock_day: LockDay | None, baseline_learned: bool, params: ResidentParams
) -> Residents:
    """After one more closed day: count the day's credentials while the baseline is being
    learned; fix the residents the day the baseline is."""
    if residents.learned is not None:
        return residents
    days_seen = dict(residents.days_seen)
    if lock_day is not None:
        for credential in lock_day.credentials:
            days_seen[credential] = days_seen.get(credential, 0) + 1
    if not baseline_learned:
        return Residents(days_seen)
    return Residents({}, frozenset(c for c, n in days_seen.items() if n >= params.min_days))


def residents_present(
    residents: Residents, lock_days: Sequence[LockDay] | None, params: ResidentParams
) -> bool:
    """Whether a resident credential opened the door in the last ``present_days`` days."""
    if not residents.learned or not lock_days:
        return False
    recent = lock_days[-params.present_days :]
    return any(day.credentials & residents.learned for day in recent)


def newcomers_only(
    residents: Residents, lock_days: Sequence[LockDay] | None, params: ResidentParams
) -> bool:
    """Whether the household is known, none of it opened the door in the last ``present_days``
    days, and at least ``min_newcomers`` other credentials did: others live here now."""
    if not residents.learned or not lock_days:
        return False
    recent = lock_days[-params.present_days :]
    seen = frozenset().union(*(day.credentials for day in recent))
    return len(seen) >= params.min_newcomers and not seen & residents.learned
