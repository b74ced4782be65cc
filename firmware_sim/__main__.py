"""``python -m firmware_sim``: the same as the ``firmware-sim`` command."""

from firmware_sim.cli import app

app(prog_name="firmware-sim")
