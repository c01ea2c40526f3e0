"""The alert rules, message by message with an injected clock (no waiting), and the two senders against a
real SMTP server (aiosmtpd) and a real HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from roomagent.fleet.alert_senders import EmailSender, WebhookSender, compose
from roomagent.fleet.alerts import Alerts, Notice, Sender, SendError
from roomagent.fleet.config import AlertsSection, RoomEntry
from roomagent.fleet.history_db import OpenRoom
from roomagent.fleet.model import Fleet
from tests.fleet.conftest import state
from tests.fleet.receivers import MailServer, WebhookReceiver

MEETING = {"id": "m-1", "platform": "bbb", "host": "bbb.example.org", "since": 1_700_000_000.0}


class Recorder(Sender):
    """A sender that keeps what it was given (and can be told to fail)."""

    name = "recorder"

    def __init__(self) -> None:
        self.messages: list[list[Notice]] = []
        self.fail = False

    async def send(self, notices: list[Notice]) -> None:
        if self.fail:
            raise SendError("the test says no")
        self.messages.append(list(notices))


class Rig:
    """A fleet model, the alert engine on it, a clock the test moves."""

    def __init__(self, **rules) -> None:
        settings = AlertsSection.model_validate({"webhook": {"url": "http://127.0.0.1:9/x"}, **rules})
        self.now = 1_800_000_000.0
        self.fleet = Fleet([RoomEntry(id="h0104", name="Lecture hall 1.04", building="Main")])
        self.sender = Recorder()
        self.alerted: list[tuple[str, str]] = []
        self.alerts = Alerts(settings, [self.sender], on_alerted=lambda room, kind, _now: self.alerted.append((room, kind)))

    def message(self, room: str, leaf: str, payload, *, retained: bool = False) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        changed = self.fleet.apply(room, leaf, body, retained=retained, now=self.now)
        if changed is not None:
            self.alerts.observe(changed, self.now)

    def tick(self, advance: float = 0.0) -> list[list[Notice]]:
        self.now += advance
        before = len(self.sender.messages)
        asyncio.run(self.alerts.tick(self.now))
        return self.sender.messages[before:]

    def online(self, room: str = "h0104", snapshot: dict | None = None) -> None:
        self.message(room, "state", snapshot or state("idle"), retained=True)
        self.message(room, "availability", b"online", retained=True)


def whats(messages: list[list[Notice]]) -> list[list[tuple[str, str, str]]]:
    return [[(n.what, n.room, n.kind) for n in batch] for batch in messages]


def test_offline_is_alerted_only_after_offline_after_s_then_once_and_its_recovery_once():
    rig = Rig(offline_after_s=120)
    rig.online()
    assert rig.tick() == []
    rig.message("h0104", "availability", b"offline")
    assert rig.tick(119) == []  # not yet: 119 s
    sent = rig.tick(1)
    assert whats(sent) == [[("alert", "h0104", "offline")]]
    assert "Lecture hall 1.04" in sent[0][0].line()
    assert rig.alerted == [("h0104", "offline")]
    assert rig.tick(600) == []  # one alert per incident, however long it lasts
    rig.message("h0104", "availability", b"offline")  # the same again changes nothing
    assert rig.tick(1) == []
    rig.message("h0104", "availability", b"online")
    sent = rig.tick(1)
    assert whats(sent) == [[("recovery", "h0104", "offline")]]
    assert "lasted 12 min" in sent[0][0].line()
    assert rig.tick(60) == []


def test_a_short_outage_sends_nothing_neither_alert_nor_recovery():
    rig = Rig(offline_after_s=120)
    rig.online()
    rig.message("h0104", "availability", b"offline")
    assert rig.tick(60) == []
    rig.message("h0104", "availability", b"online")
    assert rig.tick(600) == []


def test_screen_failed_and_host_unreachable_and_their_recovery():
    rig = Rig(screen_failed_after_s=0, host_unreachable_after_s=30)
    rig.online(snapshot=state("in_meeting", meeting=MEETING))
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING, screens=[("left", "loaded"), ("right", "failed")]))
    assert whats(rig.tick()) == [[("alert", "h0104", "screen:right")]]
    reconnecting = {**state("in_meeting", meeting=MEETING, screens=[("left", "loaded"), ("right", "failed")]),
                    "reconnecting": True}
    rig.message("h0104", "state", reconnecting)
    assert rig.tick(29) == []
    assert whats(rig.tick(1)) == [[("alert", "h0104", "host")]]
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING))
    sent = rig.tick(1)
    assert sorted(whats(sent)[0]) == [("recovery", "h0104", "host"), ("recovery", "h0104", "screen:right")]
    assert len(sent) == 1  # two notices due at once are one message


def test_while_a_room_is_offline_its_screen_incident_neither_recovers_nor_repeats():
    rig = Rig(offline_after_s=0, screen_failed_after_s=0)
    rig.online(snapshot=state("idle", screens=[("left", "failed")]))
    assert whats(rig.tick()) == [[("alert", "h0104", "screen:left")]]
    rig.message("h0104", "availability", b"offline")
    assert whats(rig.tick(1)) == [[("alert", "h0104", "offline")]]  # no "screen recovered" here
    rig.message("h0104", "state", state("idle", screens=[("left", "idle")]))
    rig.message("h0104", "availability", b"online")
    assert sorted(whats(rig.tick(1))[0]) == [("recovery", "h0104", "offline"), ("recovery", "h0104", "screen:left")]


def test_rules_can_be_switched_off_and_recovery_too():
    rig = Rig(rules=["offline"], offline_after_s=0, recovery=False)
    rig.online(snapshot=state("idle", screens=[("left", "failed")]))
    rig.message("h0104", "availability", b"offline")
    assert whats(rig.tick()) == [[("alert", "h0104", "offline")]]
    rig.message("h0104", "availability", b"online")
    assert rig.tick(1) == []


def test_rate_limit_turns_a_flood_into_digests_and_loses_nothing():
    rig = Rig(offline_after_s=0, max_per_hour=2)
    rooms = [f"r{i:03d}" for i in range(30)]
    for room in rooms:
        rig.online(room)
    rig.message(rooms[0], "availability", b"offline")
    assert len(rig.tick(1)) == 1
    for room in rooms[1:]:
        rig.message(room, "availability", b"offline")
    second = rig.tick(1)
    assert len(second) == 1 and len(second[0]) == 29  # the other 29 in one digest
    for room in rooms:
        rig.message(room, "availability", b"online")
    assert rig.tick(1) == []  # the budget of 2 an hour is spent: the recoveries wait...
    assert rig.tick(3600 - 3) == []
    third = rig.tick(2)  # ...until the first message is an hour old
    assert len(third) == 1 and {n.room for n in third[0]} == set(rooms) and {n.what for n in third[0]} == {"recovery"}
    subject, text = compose(third[0])
    assert subject == "[roomagent] 0 alert(s), 30 recovery(ies)" and text.count("RECOVERED") == 30


def test_quiet_hours_hold_messages_and_skip_incidents_that_began_and_ended_inside():
    t = time.localtime(1_800_000_000.0)
    start = f"{t.tm_hour:02d}:{t.tm_min:02d}"
    end_min = (t.tm_hour * 60 + t.tm_min + 60) % (24 * 60)
    rig = Rig(offline_after_s=0, quiet_hours=f"{start}-{end_min // 60:02d}:{end_min % 60:02d}")
    rig.online("a")
    rig.online("b")
    rig.message("a", "availability", b"offline")
    rig.message("b", "availability", b"offline")
    assert rig.tick(1) == []
    rig.message("b", "availability", b"online")  # b's outage began and ended in the quiet hours
    assert rig.tick(60 * 60 - 62) == []
    sent = rig.tick(61)  # the quiet hour is over: a, still offline, is alerted
    assert whats(sent) == [[("alert", "a", "offline")]]


def test_a_failed_send_is_tried_again_and_nothing_is_lost():
    rig = Rig(offline_after_s=0)
    rig.online()
    rig.sender.fail = True
    rig.message("h0104", "availability", b"offline")
    assert rig.tick() == []
    rig.sender.fail = False
    assert rig.tick(10) == []  # waits RETRY_S after a failure
    assert whats(rig.tick(30)) == [[("alert", "h0104", "offline")]]


def test_incidents_alerted_before_a_restart_are_not_alerted_again_but_recover():
    rig = Rig(offline_after_s=60)
    rig.alerts.seed({"h0104": OpenRoom(availability="unknown", incidents={"offline": ("offline", rig.now - 500, True)}),
                     "s2-201": OpenRoom(availability="unknown", incidents={"offline": ("offline", rig.now - 500, False)})})
    rig.message("h0104", "availability", b"offline", retained=True)
    rig.message("s2-201", "availability", b"offline", retained=True)
    sent = rig.tick(1)
    assert whats(sent) == [[("alert", "s2-201", "offline")]]  # only the one never alerted; started 500 s ago
    rig.message("h0104", "availability", b"online")
    assert whats(rig.tick(1)) == [[("recovery", "h0104", "offline")]]


def test_bad_alert_settings_are_refused_in_words():
    with pytest.raises(ValueError, match=r"give \[alerts.email\], \[alerts.webhook\] or both"):
        AlertsSection.model_validate({})
    with pytest.raises(ValueError, match="quiet_hours"):
        AlertsSection.model_validate({"webhook": {"url": "http://127.0.0.1/x"}, "quiet_hours": "25:00-07:00"})
    with pytest.raises(ValueError, match="password in clear"):
        AlertsSection.model_validate({"email": {"host": "smtp.example.org", "security": "none", "sender": "a@b.c",
                                                "to": ["o@b.c"], "username": "u", "password_file": __file__}})
    with pytest.raises(ValueError, match="does not exist"):
        AlertsSection.model_validate({"webhook": {"url": "http://127.0.0.1/x", "token_file": "/nonexistent/token"}})


# ----- the senders against real servers ------------------------------------------------------------------
def _notice(what: str = "alert") -> Notice:
    return Notice(what, "h0104", "Lecture hall 1.04", "Main", "offline", "offline", 1_800_000_000.0, 1_800_000_130.0)


def test_email_goes_to_a_real_smtp_server():
    mail = MailServer().start()
    try:
        settings = AlertsSection.model_validate({"email": {"host": "127.0.0.1", "port": mail.port, "security": "none",
                                                           "sender": "fleet@example.org",
                                                           "to": ["ops@example.org", "duty@example.org"]},
                                                 "dashboard_url": "https://fleet.example.org"})
        asyncio.run(EmailSender(settings.email, settings.dashboard_url).send([_notice()]))
        message = mail.next()
        assert message["Subject"] == "[roomagent] h0104: offline"
        assert message["X-Envelope-To"] == "ops@example.org, duty@example.org"
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_payload(decode=True).decode()
        assert "ALERT h0104 (Lecture hall 1.04): offline since" in body
        assert "https://fleet.example.org/rooms/h0104" in body
    finally:
        mail.stop()
    # The server is gone now: a clear error, no exception of another kind.
    with pytest.raises(SendError, match=f"mail to 127.0.0.1:{mail.port} not sent"):
        asyncio.run(EmailSender(settings.email).send([_notice()]))


def test_webhook_posts_json_with_the_token_and_a_refusal_is_an_error(tmp_path):
    hook = WebhookReceiver().start()
    try:
        token = tmp_path / "token"
        token.write_text("t0ken\n")
        settings = AlertsSection.model_validate({"webhook": {"url": hook.url, "token_file": str(token)}})
        asyncio.run(WebhookSender(settings.webhook).send([_notice(), _notice("recovery")]))
        body = hook.next()
        assert [a["what"] for a in body["alerts"]] == ["alert", "recovery"]
        assert body["alerts"][0] == {"what": "alert", "room": "h0104", "name": "Lecture hall 1.04", "building": "Main",
                                     "kind": "offline", "problem": "offline", "started": 1_800_000_000.0,
                                     "at": 1_800_000_130.0}
        assert body["text"].startswith("[roomagent] 1 alert(s), 1 recovery(ies)")
        assert hook.headers[-1]["Authorization"] == "Bearer t0ken"
        hook.status = 500
        with pytest.raises(SendError) as caught:
            asyncio.run(WebhookSender(settings.webhook).send([_notice()]))
        # The hook's secret path is not in the words that go to the log.
        assert "answered 500" in str(caught.value) and "s3cret" not in str(caught.value)
    finally:
        hook.stop()
