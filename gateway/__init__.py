"""Building gateway: polls meters, estimates occupancy per unit, raises signed alerts."""
