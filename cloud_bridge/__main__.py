"""``python -m cloud_bridge``: the same as the ``cloud-bridge`` command."""

from cloud_bridge.cli import app

app(prog_name="cloud-bridge")
