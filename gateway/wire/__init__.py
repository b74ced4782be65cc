"""What crosses the network: signed envelopes, keys, the wire contract and the MQTT uplink."""
