"""Fixtures of the trust tests: a signing gateway, as in the cloud bridge tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cloud_bridge.signed_alerts import FakeGateway, make_gateway


@pytest.fixture
def gateway(tmp_path: Path) -> FakeGateway:
    return make_gateway(tmp_path, "gw-1")
