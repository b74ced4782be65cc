"""MQTT ingest: the alert session, verification of signed alerts, the wire contract."""
