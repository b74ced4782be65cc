"""Identities: the MQTT certificate authority, and (soon) accounts, roles, sessions and tokens."""
