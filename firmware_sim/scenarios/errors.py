"""The one error the scenario generator raises on purpose."""

from __future__ import annotations

from firmware_sim import FirmwareSimError

__all__ = ["ScenarioError"]


class ScenarioError(FirmwareSimError):
    """A scenario cannot be built or exported as asked; the message says why, for the user."""
