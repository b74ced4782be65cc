"""Named, reproducible random streams: one ``random.Random`` per (seed, purpose, ...) path.

Every draw of a scenario comes from a stream named for what it is for, for example
``stream(seed, "schedule", "0302", 17)`` for the routines of flat 0302 on day 17. A stream's
sequence depends on its name alone, so a flat's day is the same whether days are generated in
order, out of order or one at a time (live serving), and a confounder added to one flat leaves
every other draw of the building unchanged. ``random`` hashes string seeds with SHA-512, so the
streams are the same in every process and on every machine (unlike ``hash()``).
"""

from __future__ import annotations

import random

__all__ = ["hex_tag", "stream"]


def stream(seed: int, *path: object) -> random.Random:
    """The random stream named by ``seed`` and ``path`` (strings and integers)."""
    return random.Random("/".join(str(part) for part in (seed, *path)))


def hex_tag(rng: random.Random, digits: int = 4) -> str:
    """``digits`` lowercase hex digits, as in the credential name ``fp-3a9c``."""
    return f"{rng.getrandbits(4 * digits):0{digits}x}"
