"""Three bridge instances on one MQTT 5 shared subscription and one PostgreSQL database, one of
them SIGKILLed mid-run: each alert is handled once overall (one ``alerts_received`` row per
sequence, one ticket per case) and the load is split (each instance's own ticket events, whose
actor is the instance).

Needs the PostgreSQL server on 127.0.0.1:5432 (trust authentication, database ``test``); the
test makes a database of its own and drops it afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.chain import Chain, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(240)]

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
INSTANCES = ("bridge-a", "bridge-b", "bridge-c")
ALERTS, CASES = 150, 15


@pytest.fixture
def postgres_url() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"reliab_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({err})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_three_bridges_share_the_load_and_handle_each_alert_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with Chain(tmp_path, database_url=postgres_url, with_building=False) as chain:
        chain.start(bridges=INSTANCES, gateway=False)
        for instance in INSTANCES:
            chain.wait_bridge_subscribed(instance, 1)
        chain.queue_alerts(ALERTS, CASES)
        chain.start_gateway()
        assert wait_for(lambda: len(chain.received()) >= ALERTS // 4, 60, 0.02), chain.logs()
        chain.bridges["bridge-b"].kill()
        assert wait_for(chain.drained, 120), chain.logs()
        verdict = chain.verdict()
        handled = dict(
            chain.bridge_rows(
                "SELECT actor, COUNT(*) FROM ticket_events"
                " WHERE event IN ('open', 'evidence') GROUP BY actor"
            )
        )

    assert verdict.problems() == [], chain.logs()
    assert verdict.raised == verdict.delivered == ALERTS
    assert sum(handled.values()) == ALERTS, handled
    assert set(handled) == set(INSTANCES), f"not every instance took a share: {handled}"
    assert all(n >= ALERTS // 20 for n in handled.values()), handled
