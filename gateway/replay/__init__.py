"""Building traces: reading them, recording them, and replaying them through the detector."""
