"""What an inspector found in a unit, validated once into a frozen object.

:func:`parse_findings` is the edge: it takes the mapping a form or a JSON body produced and
returns :class:`Findings` or raises :class:`~cloud_bridge.cases.errors.InvalidFindings` naming
the field path and the rule (``findings.photos[2]: a SHA-256 hex digest``). Constructing
:class:`Findings` directly runs the same checks. Photos are never stored here, only referenced
by the SHA-256 of their bytes, so the case file proves which picture was taken without holding
it. :meth:`Findings.problems` names what makes a unit non-compliant; the scoring table in
:mod:`~cloud_bridge.cases.tiers` counts the same facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cloud_bridge.cases.errors import InvalidFindings

__all__ = ["Findings", "PhotoRef", "parse_findings"]

_SHA256: Final = re.compile(r"[0-9a-f]{64}")
MAX_COUNT: Final = 500  # more people or beds than this in one unit is a typing error
MAX_NOTE: Final = 4000
_COUNTS: Final = ("people_found", "rooms_partitioned", "bunk_beds")
_FLAGS: Final = ("fire_hazard", "structural_hazard")
_FIELDS: Final = frozenset({*_COUNTS, *_FLAGS, "photos", "note"})


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """A photo, by the SHA-256 of its bytes (lowercase hex)."""

    sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise InvalidFindings("sha256", "a SHA-256 hex digest: 64 lowercase hex digits")


@dataclass(frozen=True, slots=True)
class Findings:
    """One visit's findings. Counts are what was seen, not estimates."""

    people_found: int
    rooms_partitioned: int = 0
    bunk_beds: int = 0
    fire_hazard: bool = False
    structural_hazard: bool = False
    photos: tuple[PhotoRef, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        for name in _COUNTS:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= MAX_COUNT:
                raise InvalidFindings(name, f"a whole number from 0 to {MAX_COUNT}")
        for name in _FLAGS:
            if type(getattr(self, name)) is not bool:
                raise InvalidFindings(name, "true or false")
        if not isinstance(self.photos, tuple) or not all(
            isinstance(p, PhotoRef) for p in self.photos
        ):
            raise InvalidFindings("photos", "a tuple of PhotoRef")
        if len({p.sha256 for p in self.photos}) != len(self.photos):
            raise InvalidFindings("photos", "each photo once")
        if not isinstance(self.note, str) or len(self.note) > MAX_NOTE:
            raise InvalidFindings("note", f"text of at most {MAX_NOTE} characters")

    @property
    def hazards(self) -> tuple[str, ...]:
        """The one-vote-veto dangers found: ``fire_hazard``, ``structural_hazard``."""
        return tuple(name for name in _FLAGS if getattr(self, name))

    def problems(self, legal_cap: int | None = None) -> tuple[str, ...]:
        """What makes the unit non-compliant, in words; empty for a clean inspection. People
        above ``legal_cap`` count only when the cap is known."""
        found = [f"{name.replace('_', ' ')}" for name in self.hazards]
        if self.rooms_partitioned:
            found.append(f"{self.rooms_partitioned} partitioned room(s)")
        if self.bunk_beds:
            found.append(f"{self.bunk_beds} bunk bed(s)")
        if legal_cap is not None and self.people_found > legal_cap:
            found.append(f"{self.people_found} people for a legal cap of {legal_cap}")
        return tuple(found)


def parse_findings(data: Mapping[str, Any], path: str = "findings") -> Findings:
    """``data`` (from a form or JSON) as :class:`Findings`; :class:`InvalidFindings` with the
    field path otherwise. Unknown fields are refused, so a typo is not silently dropped."""
    if not isinstance(data, Mapping):
        raise InvalidFindings(path, "an object of findings")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidFindings(f"{path}.{unknown[0]}", f"unknown field; known: {sorted(_FIELDS)}")
    if "people_found" not in data:
        raise InvalidFindings(f"{path}.people_found", "required")
    photos = data.get("photos", [])
    if not isinstance(photos, list | tuple):
        raise InvalidFindings(f"{path}.photos", "a list of SHA-256 hex digests")
    refs = []
    for index, digest in enumerate(photos):
        try:
            refs.append(PhotoRef(digest))
        except InvalidFindings as err:
            raise InvalidFindings(f"{path}.photos[{index}]", err.rule) from err
    values = {key: data[key] for key in (*_COUNTS, *_FLAGS, "note") if key in data}
    try:
        return Findings(**values, photos=tuple(refs))
    except InvalidFindings as err:
        raise InvalidFindings(f"{path}.{err.field}", err.rule) from err
