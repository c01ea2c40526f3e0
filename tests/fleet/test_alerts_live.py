"""Alerts end to end in the dashboard app with an injected clock: a room (a real MQTT client with the
``offline`` will) on a real mosquitto dies; after ``offline_after_s`` of the dashboard's clock — not before —
an alert mail arrives at a real SMTP server and a webhook receives it; the room comes back and a recovery
arrives at both. No sleeping through the N seconds: the test moves the clock."""

from __future__ import annotations

import time

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.fleet.conftest import SimRoom, make_settings, state
from tests.fleet.receivers import mail_text, wait_for, with_sections

OFFLINE_AFTER_S = 300


class Clock:
    """The dashboard's clock; the test moves it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_offline_longer_than_n_seconds_mails_and_posts_alert_then_recovery(tmp_path, broker, mail, hook):
    settings = with_sections(make_settings(tmp_path, broker.url),
                             history={"database": str(tmp_path / "history.sqlite")},
                             alerts={"rules": ["offline"], "offline_after_s": OFFLINE_AFTER_S,
                                     "dashboard_url": "https://fleet.example.org",
                                     "email": {"host": "127.0.0.1", "port": mail.port, "security": "none",
                                               "sender": "fleet@example.org", "to": ["ops@example.org"]},
                                     "webhook": {"url": hook.url}})
    clock = Clock()
    room = SimRoom(broker.port, "h0104").connect(state("idle"))
    app = create_app(settings, clock_fn=clock)
    board = app.state.board
    with run_in_thread(app, proxy_headers=False):
        wait_for(lambda: board.fleet.rooms["h0104"].online, "the dashboard sees the room online")
        room.vanish()  # the agent dies: the broker publishes its will
        wait_for(lambda: board.fleet.rooms["h0104"].availability == "offline", "the dashboard sees it offline")
        checks = board.watch.alerts.checks
        clock.now += OFFLINE_AFTER_S - 1
        wait_for(lambda: board.watch.alerts.checks >= checks + 2, "two rule checks")
        assert mail.nothing_waiting() and hook.bodies.empty()  # 299 s offline: no alert yet

        clock.now += 1
        alert = mail.next()
        assert alert["Subject"] == "[roomagent] h0104: offline"
        assert "ALERT h0104 (Lecture hall 1.04): offline since" in mail_text(alert)
        assert "https://fleet.example.org/rooms/h0104" in mail_text(alert)
        body = hook.next()
        assert [(a["what"], a["room"], a["kind"]) for a in body["alerts"]] == [("alert", "h0104", "offline")]

        clock.now += 600
        back = SimRoom(broker.port, "h0104").connect(state("idle"))
        try:
            recovery = mail.next()
            assert recovery["Subject"] == "[roomagent] h0104 recovered: offline"
            assert "lasted 15 min" in mail_text(recovery)
            assert [a["what"] for a in hook.next()["alerts"]] == ["recovery"]
            checks = board.watch.alerts.checks
            wait_for(lambda: board.watch.alerts.checks >= checks + 2, "two rule checks")
            assert mail.nothing_waiting() and hook.bodies.empty()  # one alert, one recovery
        finally:
            back.close()
