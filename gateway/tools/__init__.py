"""Installer tools behind the CLI: ``scan`` (what is on a bus) and ``doctor`` (is it all well)."""
