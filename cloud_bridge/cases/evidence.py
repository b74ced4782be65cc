"""What one alert body contributes to its case's ticket. Pure: dicts in, dicts and text out.

- :func:`case_values`: the ticket columns the latest alert of a case sets (its id and revision,
  the legal cap, the occupancy estimate, the confidence, the summary);
- :func:`merge_evidence`: the case file's evidence after one more alert (daily figures by date,
  signals seen, the window covered); an older revision adds days but replaces nothing;
- :func:`estimate_text`: the one-line estimate written into the ticket's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["case_values", "estimate_text", "merge_evidence"]


def case_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tickets`` columns that the alert ``body`` sets, by column name."""
    estimate = body["estimated_occupancy"]
    return {
        "alert_id": body["alert_id"],
        "revision": body["revision"],
        "legal_cap": body["legal_cap"],
        "estimate_point": estimate["point"],
        "estimate_low": estimate["low"],
        "estimate_high": estimate["high"],
        "confidence": body["confidence"],
        "summary": body["evidence"]["summary"],
    }


def merge_evidence(
    old: Mapping[str, Any], body: Mapping[str, Any], *, newer: bool = True
) -> dict[str, Any]:
    """The case file's evidence: the daily figures of every alert, by date (a newer alert's
    figures win), the signals seen, and the window they cover."""
    incoming = body["evidence"]
    days = {day["date"]: day for day in old.get("days", [])}
    for day in incoming["days"]:
        if newer or day["date"] not in days:
            days[day["date"]] = day
    window = body["window"]
    old_window = old.get("window", window)
    latest = body if newer or not old else old
    return {
        "raised_at": latest["raised_at"],
        "unit": latest["unit"],
        "window": {
            "from": min(window["from"], old_window["from"]),
            "to": max(window["to"], old_window["to"]),
        },
        "signals": sorted(set(old.get("signals", [])) | set(incoming["signals"])),
        "days": [days[date] for date in sorted(days)],
    }


def estimate_text(body: Mapping[str, Any]) -> str:
    """The alert's estimate in words, for the ticket's history."""
    estimate = body["estimated_occupancy"]
    return (
        f"about {estimate['point']:g} people ({estimate['low']:g}-{estimate['high']:g}),"
        f" legal cap {body['legal_cap']}, confidence {body['confidence']:.2f}"
    )
