"""The daemon and its supervised jobs (polling, the day closer, the uplink)."""
