"""The detector's sections of gateway.toml: ``[rules]``, ``[norms]``, ``[door]``,
``[decision]``, ``[limits]`` and ``[polling]``, gathered into :class:`DetectionConfig`.

These decide what is an alert. :func:`load_detection_config` reads them alone from any file,
so ``gateway backtest`` replays a trace with exactly a live building's own settings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from gateway.config.base import MeterKind, _Frozen
from gateway.core.alert_decision import DecisionParams
from gateway.core.building_day import DetectorSettings
from gateway.core.cohorts import CohortParams
from gateway.core.counters import CounterLimits
from gateway.core.daily_usage import METER_KINDS
from gateway.core.lock_activity import LockNorms
from gateway.core.occupancy import OccupancyRules, PerCapitaNorms
from gateway.core.residents import ResidentParams
from gateway.errors import ConfigError
from qunzu_common.config_errors import format_validation_error


class PollingSection(_Frozen):
    interval_s: float = Field(default=900.0, gt=0, description="building seconds between polls")
    day_close_delay_s: float = Field(
        default=600.0, ge=0, description="building seconds after midnight before a day is closed"
    )


class RulesSection(_Frozen):
    max_persons_per_room: int = Field(default=2, ge=1)
    min_area_m2_per_person: float = Field(default=5.0, gt=0)


class NormsSection(_Frozen):
    water_m3_per_person_day: float = Field(default=0.12, gt=0)
    electricity_base_kwh_day: float = Field(default=2.0, ge=0)
    electricity_kwh_per_person_day: float = Field(default=1.5, gt=0)
    gas_m3_per_person_day: float = Field(default=0.3, gt=0)
    relative_uncertainty: float = Field(default=0.25, gt=0, lt=1)
    water_leak_lph: float = Field(default=4.0, gt=0)
    # A leak seen running through every hour this recently is still taken off the water on
    # a day its quietest hour dipped (and while its case is suspected or open).
    leak_memory_days: int = Field(default=7, ge=0, le=60)


class DoorSection(_Frozen):
    """How door-lock activity is read (``core.lock_activity``, ``core.residents``)."""

    unlocks_per_person_day: float = Field(default=1.2, gt=0)
    credentials_per_person: float = Field(default=1.4, ge=1)
    window_days: int = Field(default=7, ge=1, le=31, description="days credentials are counted")
    # Distinct credentials on one day, reached on this many days of the window: people known
    # to live there.
    known_present_days: int = Field(default=3, ge=1)
    # Days a credential must open the door while the baseline is learned to be the household's.
    resident_min_days: int = Field(default=3, ge=1)
    # A household credential seen this recently: the household is at home.
    resident_present_days: int = Field(default=2, ge=1)
    # Strangers' credentials in those days, with none of the household's: others live here.
    min_newcomers: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _known_within_window(self) -> DoorSection:
        if self.known_present_days > self.window_days:
            raise ValueError(
                f"known_present_days ({self.known_present_days}) must not exceed window_days"
                f" ({self.window_days})"
            )
        return self

    def lock_norms(self) -> LockNorms:
        return LockNorms(
            unlocks_per_person_day=self.unlocks_per_person_day,
            credentials_per_person=self.credentials_per_person,
            window_days=self.window_days,
            known_present_days=self.known_present_days,
        )

    def resident_params(self) -> ResidentParams:
        return ResidentParams(
            min_days=self.resident_min_days,
            present_days=self.resident_present_days,
            min_newcomers=self.min_newcomers,
        )


class DecisionSection(_Frozen):
    sustain_days: int = Field(default=4, ge=1)
    clear_days: int = Field(default=5, ge=1)
    min_confidence: float = Field(default=0.75, gt=0, lt=1)
    update_every_days: int = Field(default=7, ge=1)
    max_evidence_days: int = Field(default=14, ge=1, le=60)
    excess_persons: int = Field(default=1, ge=0, le=10)
    # Days under min_confidence count partly above this confidence and against the case
    # below it (a CUSUM: lasting moderate evidence is raised later instead of never).
    partial_evidence_from: float | None = Field(default=0.65, gt=0, lt=1)
    # While the household's own lock credentials keep opening the door: guests leave in a week.
    resident_sustain_days: int = Field(default=7, ge=1)
    # While a unit's baseline is being learned (its first days under watch): same reason.
    unlearned_sustain_days: int = Field(default=7, ge=1)
    # When the household's credentials stopped opening the door and others took over.
    newcomer_sustain_days: int = Field(default=2, ge=1)
    # ... or when the flat stood empty this few days before (0: never).
    moved_in_within_days: int = Field(default=4, ge=0, le=31)
    # Sequential evidence (core.alert_decision): each day adds its log-likelihood ratio in
    # "days at min_confidence", up to strongest_day, weighted by what is known of the
    # household; a case is raised when the sum reaches evidence_threshold. With it the
    # *_sustain_days above are not used (false: the older fixed waits).
    sequential: bool = True
    evidence_threshold: float = Field(default=4.0, gt=0, le=60)
    strongest_day: float = Field(default=4.0, gt=0, le=60)
    # A day counts more than one above strong_from, strongest_day at strongest_confidence.
    strong_from: float = Field(default=0.95, gt=0, lt=1)
    strongest_confidence: float = Field(default=0.995, gt=0, lt=1)
    # Weights of support for a crowd, by what is known of the household (priors of a visit).
    resident_evidence_weight: float = Field(default=0.5, gt=0, le=10)
    unlearned_evidence_weight: float = Field(default=0.6, gt=0, le=10)
    newcomer_evidence_weight: float = Field(default=2.0, gt=0, le=10)
    # An unlearned flat using this many times its cohort's water counts like a known one.
    cohort_strong_ratio: float = Field(default=2.5, gt=1)
    # A flat's cohort: same rooms, area within this share; at least this many with data.
    cohort_area_band: float = Field(default=0.15, ge=0, lt=1)
    cohort_min_units: int = Field(default=3, ge=1)
    # A revision only when the median estimate since the last alert moved this many people,
    # or the confidence this much (0 and 0: every update_every_days).
    revise_min_persons: float = Field(default=2.0, ge=0)
    revise_min_confidence: float = Field(default=0.3, ge=0, le=1)
    # No new case this many days after a case closed, counted from its close.
    cooldown_days: int = Field(default=14, ge=0, le=365)

    @model_validator(mode="after")
    def _reference_below_threshold(self) -> DecisionSection:
        if not self.min_confidence <= self.strong_from < self.strongest_confidence:
            raise ValueError(
                f"need min_confidence ({self.min_confidence}) <= strong_from ({self.strong_from})"
                f" < strongest_confidence ({self.strongest_confidence})"
            )
        reference = self.partial_evidence_from
        if reference is not None and reference >= self.min_confidence:
            raise ValueError(
                f"partial_evidence_from ({reference}) must be below min_confidence"
                f" ({self.min_confidence})"
            )
        return self


class CounterLimitsSection(_Frozen):
    max_rate_per_hour: float = Field(gt=0)
    reset_below: float = Field(default=1.0, ge=0)
    max_reset_hours: float = Field(
        default=2.0, gt=0, description="a reset after a longer gap leaves the gap unknown"
    )


def _default_limits() -> dict[str, CounterLimitsSection]:
    return {
        "water_m3": CounterLimitsSection(max_rate_per_hour=3.0, reset_below=1.0),
        "electricity_kwh": CounterLimitsSection(max_rate_per_hour=12.0, reset_below=5.0),
        "gas_m3": CounterLimitsSection(max_rate_per_hour=4.0, reset_below=1.0),
    }


DETECTION_SECTIONS = ("rules", "norms", "door", "decision", "limits", "polling")


class DetectionConfig(_Frozen):
    """The detector's settings alone: the sections of a gateway.toml that decide what is an
    alert. ``gateway backtest --config`` reads these from any file and ignores the rest, so the
    gateway.toml of a live building replays a trace with exactly its own settings."""

    rules: RulesSection = RulesSection()
    norms: NormsSection = NormsSection()
    door: DoorSection = DoorSection()
    decision: DecisionSection = DecisionSection()
    limits: dict[MeterKind, CounterLimitsSection] = Field(default_factory=_default_limits)
    polling: PollingSection = PollingSection()

    def detector_settings(self, gateway_id: str) -> DetectorSettings:
        decision = self.decision.model_dump(exclude={"cohort_area_band", "cohort_min_units"})
        return DetectorSettings(
            gateway_id,
            OccupancyRules(**self.rules.model_dump()),
            PerCapitaNorms(**self.norms.model_dump()),
            DecisionParams(**decision),
            locks=self.door.lock_norms(),
            residents=self.door.resident_params(),
            cohorts=CohortParams(
                area_band=self.decision.cohort_area_band,
                min_units=self.decision.cohort_min_units,
            ),
        )

    def counter_limits(
        self, rollover_at: Mapping[str, float | None] | None = None
    ) -> dict[str, CounterLimits]:
        """Plausibility limits per meter kind; ``rollover_at`` by kind for meters that wrap."""
        limits = _default_limits() | dict(self.limits)
        rollover_at = rollover_at or {}
        return {
            kind: CounterLimits(
                max_rate_per_hour=limits[kind].max_rate_per_hour,
                rollover_at=rollover_at.get(kind),
                reset_below=limits[kind].reset_below,
                max_reset_hours=limits[kind].max_reset_hours,
            )
            for kind in METER_KINDS
        }


def load_detection_config(
    path: Path | None, rules_override: dict[str, object] | None = None
) -> DetectionConfig:
    """The detection sections of ``path`` (defaults when ``None``), with ``rules_override``
    (a trace's own occupancy rule) laid over the file's ``[rules]``."""
    raw: dict[str, object] = {}
    source = "defaults"
    if path is not None:
        source = path.name
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ConfigError(f"{path}: file not found") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: not valid TOML: {err}") from err
        raw = {key: data[key] for key in DETECTION_SECTIONS if key in data}
    if rules_override:
        rules = raw.get("rules", {})
        raw["rules"] = {**(rules if isinstance(rules, dict) else {}), **rules_override}
    try:
        return DetectionConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err
