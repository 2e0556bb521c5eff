"""Alerts from `leadbridge run` against the sandbox: a dead-letter spike is posted once to a
webhook receiver on loopback, however many checks see it within the period."""

from __future__ import annotations

import time

from tests.e2e.test_first_sync import SEED
from tests.e2e.test_service import _until, service  # noqa: F401
from tests.unit.test_alerts import SECRET_PATH, Receiver


def test_a_dead_letter_spike_is_posted_once_per_period(service) -> None:  # noqa: F811
    receiver = Receiver()
    try:
        running = service(
            SEED,
            LEADBRIDGE_ALERT_WEBHOOK_URL=receiver.url,
            LEADBRIDGE_ALERT_DEAD_LETTER_SPIKE="2",
            LEADBRIDGE_ALERT_CHECK_SECONDS="0.5",
            LEADBRIDGE_ALERT_LAG_SECONDS="0",
        )
        _until(lambda: receiver.bodies, "the spike's alert")
        time.sleep(3)  # six more checks, the spike still within the period
        assert running.stop() == 0
    finally:
        receiver.close()

    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["text"].startswith(
        ":rotating_light: *leadbridge*: 2 records of hubspot.contacts failed within 60 min"
    )
    log = running.output()
    assert log.count('"event": "alert.fired"') == 1
    assert SECRET_PATH not in log
