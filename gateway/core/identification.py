"""Which meter profile a device is, from what it answers: register words in, candidates out.

A scan (``gateway scan``) or a check (``gateway doctor``) reads a fixed set of *probes* from a
device: for every meter profile, the reads of its meter quantity (``water_m3``,
``electricity_kwh``, ``gas_m3``) and of its ``[[identify]]`` registers. Each answer is the
words read, or None (an exception response or no answer). A profile *fits* when every one of
its probes answered, its meter total decodes to a finite value of at least 0, and every
identify rule accepts its register. A fit with a model code rule (``equals``) is *confirmed*;
any other fit is *likely* at best. Among fits, the ones matching on the most registers come
first, so a water meter with a flow register is preferred to a bare 32-bit counter that the
same words would also fit; the others are kept as alternatives, for the installer to settle.

Pure: no I/O. The probes are read by ``gateway.tools.scan``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gateway.core.registers import (
    DeviceProfile,
    ReadBlock,
    RegisterFunction,
    decode_blocks,
    decode_register,
    plan_reads,
)

METER_KINDS = ("electricity_kwh", "water_m3", "gas_m3")


@dataclass(frozen=True, slots=True, order=True)
class Probe:
    """One read: ``count`` registers from ``address`` with ``function``."""

    function: RegisterFunction
    address: int
    count: int


Answers = Mapping[Probe, Sequence[int] | None]


@dataclass(frozen=True, slots=True)
class Fit:
    """A profile that explains what the device answered."""

    profile: str
    kind: str
    confirmed: bool
    matched: int  # registers that answered as the profile says
    evidence: str  # e.g. "meter_code = 0x0020, voltage = 231.0"
    total: float


@dataclass(frozen=True, slots=True)
class _Plan:
    profile: DeviceProfile
    kind: str
    blocks: tuple[ReadBlock, ...]


def meter_kind(profile: DeviceProfile) -> str | None:
    """The meter quantity a profile reads (None for a profile that is not a meter's)."""
    quantities = {spec.quantity for spec in profile.registers}
    return next((kind for kind in METER_KINDS if kind in quantities), None)


def _plans(profiles: Iterable[DeviceProfile]) -> list[_Plan]:
    plans = []
    for profile in profiles:
        kind = meter_kind(profile)
        if kind is not None:
            plans.append(_Plan(profile, kind, plan_reads(profile, [kind])))
    return plans


def _probe_of(block: ReadBlock) -> Probe:
    return Probe(block.function, block.address, block.count)


def _rule_probe(profile: DeviceProfile, index: int) -> Probe:
    spec = profile.identify[index].spec
    return Probe(spec.function, spec.address, spec.count)


def probes_for(profiles: Iterable[DeviceProfile]) -> tuple[Probe, ...]:
    """Every distinct read needed to tell ``profiles`` apart, in a stable order: the meter
    totals first (the reads a device most likely answers), then the identify registers."""
    totals: list[Probe] = []
    rules: list[Probe] = []
    for plan in _plans(profiles):
        totals.extend(_probe_of(block) for block in plan.blocks)
        rules.extend(_rule_probe(plan.profile, i) for i in range(len(plan.profile.identify)))
    return tuple(dict.fromkeys([*sorted(set(totals)), *sorted(set(rules))]))


def identify(profiles: Iterable[DeviceProfile], answers: Answers) -> list[Fit]:
    """The profiles that fit ``answers``, best first (confirmed, then most registers matched,
    then by name). Empty: the device answered, but like none of the profiles."""
    fits = [fit for plan in _plans(profiles) if (fit := _fit(plan, answers)) is not None]
    return sorted(fits, key=lambda f: (not f.confirmed, -f.matched, f.profile))


def _fit(plan: _Plan, answers: Answers) -> Fit | None:
    read = []
    for block in plan.blocks:
        words = answers.get(_probe_of(block))
        if words is None or len(words) != block.count:
            return None
        read.append((block, words))
    total = decode_blocks(read)[plan.kind]
    if not math.isfinite(total) or total < 0:
        return None
    evidence = []
    confirmed = False
    for index, rule in enumerate(plan.profile.identify):
        words = answers.get(_rule_probe(plan.profile, index))
        if words is None or len(words) != rule.spec.count:
            return None
        value = decode_register(rule.spec, words)
        if not rule.accepts(value):
            return None
        confirmed = confirmed or rule.is_model_code
        shown = f"{int(value):#06x}" if rule.is_model_code else f"{value:g}"
        evidence.append(f"{rule.spec.name} = {shown}")
    return Fit(
        profile=plan.profile.name,
        kind=plan.kind,
        confirmed=confirmed,
        matched=len(plan.blocks) + len(plan.profile.identify),
        evidence=", ".join(evidence) or f"{plan.kind} reads {total:g}",
        total=total,
    )
