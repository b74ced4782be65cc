"""Fuzz tests: every entry point that reads bytes or text from outside gets arbitrary input and
near-valid input, and must answer with its typed result or its typed error, nothing else.

Hypothesis runs without its example database (nothing is written to the checkout) and without
deadlines (two shared cores make timings noisy); each test sets its own ``max_examples`` so the
whole directory runs more than 10,000 examples in well under a minute.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    database=None,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("fuzz")
