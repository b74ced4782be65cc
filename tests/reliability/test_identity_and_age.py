"""Two ways a correct alert could be refused by mistake, each through the real processes.

- The store is deleted and the gateway starts again with the same key: its epoch and counter
  start over at numbers the bridge has already seen, and only the fresh random ``boot_id`` keeps
  its new alerts apart from the old ones; they must be ``accepted``, never ``sequence reused``.
- An alert queued far longer than the bridge's age window (``[bridge] max_message_age_s``,
  judged by the bridge on its simulated clock, the same clock the gateway signs by) is still
  accepted when finally delivered: every send is signed anew with the time of that send.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.chain import Chain, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_a_wiped_store_with_the_same_key_is_accepted_not_sequence_reused(tmp_path: Path) -> None:
    with Chain(tmp_path, with_building=False) as chain:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        chain.queue_alerts(10, 5)
        assert wait_for(chain.drained, 60), chain.logs()
        before = {(r["boot_epoch"], r["counter"]) for r in chain.outbox()}
        assert chain.gateway is not None
        chain.gateway.stop()

        for path in chain.store_path.parent.glob(f"{chain.store_path.name}*"):
            path.unlink()
        chain.queue_alerts(10, 5, new_boot=True)
        after = {(r["boot_epoch"], r["counter"]) for r in chain.outbox()}
        assert after == before, "the wiped store should count from the same numbers again"
        chain.start_gateway()
        assert wait_for(chain.drained, 60), chain.logs()
        verdict = chain.verdict()
        statuses = {r["ack_status"] for r in chain.outbox()}

    assert statuses == {"accepted"}
    assert verdict.problems() == [], chain.logs()
    assert len(chain.received()) == 20
    assert "sequence reused" not in chain.logs()


# One wall second is a building minute: the window is a minute, network latency a second or
# less of it, and the wait five minutes.
TIME_SCALE, MAX_AGE_S = 60.0, 60.0


def test_an_alert_queued_longer_than_the_age_window_is_accepted(tmp_path: Path) -> None:
    with Chain(
        tmp_path, time_scale=TIME_SCALE, with_building=False, max_message_age_s=MAX_AGE_S
    ) as chain:
        chain.queue_alerts(5, 5)
        raised = chain.clock.now()
        chain.start_gateway()  # no broker, no bridge yet: the alerts wait in the outbox
        time.sleep(chain.clock.wall_seconds(5 * MAX_AGE_S) + 1)
        chain.broker.start()
        chain.start_bridge("bridge-1")
        assert wait_for(chain.drained, 90), chain.logs()
        waited = (chain.clock.now() - raised).total_seconds()
        verdict = chain.verdict()

    assert waited > 5 * MAX_AGE_S
    assert verdict.problems() == [], chain.logs()
    assert {r["ack_status"] for r in chain.outbox()} == {"accepted"}
    assert "stale" not in chain.logs()


def test_a_send_that_waited_in_the_broker_past_the_window_does_not_drop_the_alert(
    tmp_path: Path,
) -> None:
    """The sends wait in the bridge's persistent session at the broker while the bridge is
    away; when it returns they are stale. Refusing a send for its age must not end the alert:
    no ack, and the gateway's next send (signed anew) is accepted."""
    with Chain(
        tmp_path,
        time_scale=TIME_SCALE,
        with_building=False,
        max_message_age_s=MAX_AGE_S,
        persistent_broker=True,
    ) as chain:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        chain.bridges["bridge-1"].kill()
        chain.queue_alerts(5, 5)
        assert wait_for(lambda: all(r["sent_count"] >= 2 for r in chain.outbox()), 60)
        time.sleep(chain.clock.wall_seconds(5 * MAX_AGE_S))
        chain.start_bridge("bridge-1")
        assert wait_for(chain.drained, 90), chain.logs()
        verdict = chain.verdict()

    assert "stale" in chain.logs(), "no queued send was old enough to be refused"
    assert verdict.problems() == [], chain.logs()
    assert {r["ack_status"] for r in chain.outbox()} == {"accepted"}
