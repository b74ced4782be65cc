"""Every number of the case model in one frozen object, and its loader from plain data.

:class:`CasePolicy` groups the deadline numbers (:class:`~cloud_bridge.cases.deadlines.
DeadlinePolicy`), the tier numbers (:class:`~cloud_bridge.cases.tiers.TierPolicy`) and the
relapse watch. Each part validates itself at construction. :func:`policy_from_mapping` is the
edge for a ``[cases]`` table of a TOML file: it accepts exactly the documented keys, converts
tier names, and raises :class:`~cloud_bridge.cases.errors.InvalidPolicy` naming the field path
(``cases.tiers.floors.amber: unknown tier``). Missing keys keep their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Final

from cloud_bridge.cases.deadlines import DeadlinePolicy
from cloud_bridge.cases.errors import InvalidPolicy
from cloud_bridge.cases.tiers import Tier, TierPolicy

__all__ = ["CasePolicy", "policy_from_mapping"]

MAX_WATCH_DAYS: Final = 3660
_TIER_MAPS: Final = frozenset({"visit_due_days", "floors", "inspection_interval_days"})
_FLOATS: Final = frozenset({"building_share"})


@dataclass(frozen=True, slots=True)
class CasePolicy:
    deadlines: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    tiers: TierPolicy = field(default_factory=TierPolicy)
    relapse_watch_days: int = 90

    def __post_init__(self) -> None:
        if type(self.relapse_watch_days) is not int or not (
            0 <= self.relapse_watch_days <= MAX_WATCH_DAYS
        ):
            raise InvalidPolicy("relapse_watch_days", f"0-{MAX_WATCH_DAYS} days")


def _number(value: Any, path: str, *, real: bool = False) -> int | float:
    ok = type(value) is int or (real and type(value) is float)
    if not ok:
        raise InvalidPolicy(path, "a number" if real else "a whole number")
    return value  # type: ignore[no-any-return]


def _table(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidPolicy(path, "a table")
    return value


def _section(cls: type[Any], data: Any, root: str, name: str) -> Any:
    path = f"{root}.{name}"
    table = _table(data, path)
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{path}.{key}"
        if key not in known:
            raise InvalidPolicy(where, f"unknown key; known: {', '.join(sorted(known))}")
        if key in _TIER_MAPS:
            converted: dict[Tier, int] = {}
            for name, days in _table(value, where).items():
                if name not in set(Tier):
                    raise InvalidPolicy(f"{where}.{name}", f"unknown tier; one of {list(Tier)}")
                converted[Tier(name)] = int(_number(days, f"{where}.{name}"))
            values[key] = MappingProxyType(converted)
        elif key == "rule_points":
            points = {k: int(_number(v, f"{where}.{k}")) for k, v in _table(value, where).items()}
            values[key] = MappingProxyType(points)
        else:
            values[key] = _number(value, where, real=key in _FLOATS)
    try:
        return cls(**values)
    except InvalidPolicy as err:
        raise InvalidPolicy(f"{root}.{err.field}", err.rule) from err


def policy_from_mapping(data: Mapping[str, Any], path: str = "cases") -> CasePolicy:
    """The policy a ``[cases]`` table describes (see the module docstring)."""
    table = _table(data, path)
    unknown = sorted(set(table) - {"deadlines", "tiers", "relapse_watch_days"})
    if unknown:
        known = "deadlines, tiers, relapse_watch_days"
        raise InvalidPolicy(f"{path}.{unknown[0]}", f"unknown key; known: {known}")
    deadlines = _section(DeadlinePolicy, table.get("deadlines", {}), path, "deadlines")
    tiers = _section(TierPolicy, table.get("tiers", {}), path, "tiers")
    watch = int(_number(table.get("relapse_watch_days", 90), f"{path}.relapse_watch_days"))
    try:
        return CasePolicy(deadlines, tiers, watch)
    except InvalidPolicy as err:
        raise InvalidPolicy(f"{path}.{err.field}", err.rule) from err
