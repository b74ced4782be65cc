"""Scenarios shared by the scenario tests (each built or exported once per session)."""

from __future__ import annotations

import pytest

from firmware_sim.scenarios import ExportSummary, Scenario, build_scenario, export_trace


@pytest.fixture(scope="session")
def small_demo_scenario() -> Scenario:
    return build_scenario("small_demo", 3)


@pytest.fixture(scope="session")
def small_demo(
    small_demo_scenario: Scenario, tmp_path_factory: pytest.TempPathFactory
) -> ExportSummary:
    """``small_demo`` seed 3, exported."""
    return export_trace(small_demo_scenario, tmp_path_factory.mktemp("small_demo"))


@pytest.fixture(scope="session")
def heavy() -> Scenario:
    """A smaller ``confounder_heavy`` building: every confounder at least once."""
    return build_scenario("confounder_heavy", 11, units=48, days=40)


@pytest.fixture(scope="session")
def hidden() -> Scenario:
    """A ``hidden_rentals`` building with several group rentals of the hidden variants."""
    return build_scenario("hidden_rentals", 5, units=96, days=40)
