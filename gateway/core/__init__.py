"""The gateway's pure core: decoding, counters, daily usage, occupancy, decisions, alert bodies."""
