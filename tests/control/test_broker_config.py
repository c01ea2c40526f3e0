"""The shipped broker example (kiosk/mosquitto/) in a real mosquitto: the ACL keeps rooms apart, the TLS
listener works with the agent, and the agent reports credentials and certificates it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roomagent.core.commands import CommandReply
from roomagent.serving import free_port
from tests.control.broker import GUARD_S, Mosquitto, Probe
from tests.control.certs import make_certs
from tests.security.shipped import CONTROLLER, EXAMPLE, PASSWORDS, ROOM_A, ROOM_B, password_file

GUARD_MS = int(GUARD_S * 1000)


@pytest.fixture
def acl_broker(tmp_path: Path):
    """A plain listener with the example's ACL file and password-based login."""
    extra = f"password_file {password_file(tmp_path)}\nacl_file {EXAMPLE / 'roomagent.acl'}\n"
    server = Mosquitto(tmp_path, extra=extra, anonymous=False).start()
    yield server
    server.stop()


def login(port: int, user: str, **kwargs) -> Probe:
    return Probe(port, username=user, password=PASSWORDS[user], **kwargs).__enter__()


def test_anonymous_and_wrong_passwords_cannot_connect(acl_broker):
    for probe in (Probe(acl_broker.port), Probe(acl_broker.port, username=ROOM_A, password="wrong")):
        try:
            assert probe.connect().is_failure
        finally:
            probe.close()


def test_rooms_see_only_their_own_commands_and_write_only_their_own_topics(acl_broker):
    a = login(acl_broker.port, ROOM_A)
    b = login(acl_broker.port, ROOM_B)
    ctl = login(acl_broker.port, CONTROLLER)
    try:
        # Overlapping filters: mosquitto delivers a message once per matching subscription.
        a.subscribe(f"roomagent/{ROOM_A}/command", f"roomagent/{ROOM_B}/command", "roomagent/#")
        b.subscribe(f"roomagent/{ROOM_B}/command")
        ctl.subscribe("roomagent/#")

        # The controller commands both rooms; B's command goes first, so if A could read it, it would
        # have arrived before A's own.
        assert not ctl.publish(f"roomagent/{ROOM_B}/command", b'{"id": "to-b", "action": "mute"}').is_failure
        assert not ctl.publish(f"roomagent/{ROOM_A}/command", b'{"id": "to-a", "action": "mute"}').is_failure
        b.wait_for(lambda m: b"to-b" in m.payload)
        a.wait_for(lambda m: b"to-a" in m.payload)
        assert {m.payload for m in a.received} == {b'{"id": "to-a", "action": "mute"}'}

        # Room A may not command room B, overwrite B's state, or command itself.
        assert a.publish(f"roomagent/{ROOM_B}/command", b'{"id": "forged", "action": "leave"}').is_failure
        assert a.publish(f"roomagent/{ROOM_B}/state", b'{"forged": true}', retain=True).is_failure
        assert a.publish(f"roomagent/{ROOM_A}/command", b'{"id": "self", "action": "leave"}').is_failure
        # ... but writes its own topics and ctl replies; the controller, subscribed to everything, sees only these.
        for leaf in ("availability", "state", "response", "event"):
            assert not a.publish(f"roomagent/{ROOM_A}/{leaf}", f"marker-{leaf}").is_failure
        assert not a.publish("roomagent/_ctl/abc123/reply", b"marker-reply").is_failure
        ctl.wait_for(lambda m: m.payload == b"marker-reply")
        from_a = [m.topic for m in ctl.received if m.payload.startswith(b"marker-")]
        assert from_a == [f"roomagent/{ROOM_A}/{leaf}" for leaf in ("availability", "state", "response", "event")
                          ] + ["roomagent/_ctl/abc123/reply"]
        assert not ctl.find(lambda m: b"forged" in m.payload or b"self" in m.payload)
        # Controllers command rooms but do not read their commands (others', the relay's among them).
        assert not ctl.find(lambda m: m.topic.endswith("/command"))
        assert not b.find(lambda m: b"forged" in m.payload)
    finally:
        for probe in (a, b, ctl):
            probe.close()


@pytest.fixture
def tls_broker(tmp_path: Path):
    """The example mosquitto.conf itself, with this machine's paths and a free port."""
    certs = make_certs(tmp_path / "certs")
    store = tmp_path / "db"
    store.mkdir()
    port = free_port()
    text = (EXAMPLE / "mosquitto.conf").read_text()
    for old, new in {
        "listener 8883\n": f"listener {port} 127.0.0.1\n",
        "/etc/mosquitto/certs/": f"{certs.ca.parent}/",
        "/etc/mosquitto/roomagent.passwd": str(password_file(tmp_path)),
        "/etc/mosquitto/roomagent.acl": str(EXAMPLE / "roomagent.acl"),
        "/var/lib/mosquitto/": f"{store}/",
        "log_dest syslog": "log_dest stderr",
        "user mosquitto": "user root",  # tmp dirs belong to the test user
    }.items():
        assert old in text, f"the example no longer contains {old!r}"
        text = text.replace(old, new)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text)
    server = Mosquitto(tmp_path, port).start_with(conf)
    yield server, certs
    server.stop()


def _room_password(tmp_path: Path, password: str) -> Path:
    path = tmp_path / "room-password"
    path.write_text(password + "\n")
    return path


def test_the_agent_works_through_the_example_tls_listener(tls_broker, tmp_path, control_factory, qtbot):
    broker, certs = tls_broker
    control = control_factory(f"mqtts://127.0.0.1:{broker.port}", ROOM_A, username=ROOM_A,
                              password_file=str(_room_password(tmp_path, PASSWORDS[ROOM_A])), ca_file=str(certs.ca))
    control.command_received.connect(
        lambda command, route: control.reply(route, CommandReply(id=command.id, status="ok")))
    ctl = login(broker.port, CONTROLLER, ca=str(certs.ca))
    try:
        ctl.subscribe("roomagent/_ctl/t1/reply")
        ctl.publish(control.topics.command, b'{"id": "over-tls", "action": "get_state"}',
                    response_topic="roomagent/_ctl/t1/reply", correlation=b"c1")
        qtbot.waitUntil(lambda: bool(ctl.on("roomagent/_ctl/t1/reply")), timeout=GUARD_MS)
        reply = ctl.on("roomagent/_ctl/t1/reply")[0]
        assert json.loads(reply.payload) == {"id": "over-tls", "status": "ok"} and reply.correlation == b"c1"
    finally:
        ctl.close()


def test_an_untrusted_broker_certificate_is_a_permanent_error(tls_broker, tmp_path, control_factory, qtbot):
    broker, certs = tls_broker
    control = control_factory(f"mqtts://127.0.0.1:{broker.port}", ROOM_A, start=False, username=ROOM_A,
                              password_file=str(_room_password(tmp_path, PASSWORDS[ROOM_A])),
                              ca_file=str(certs.other_ca))
    changes: list[bool] = []
    control.connection_changed.connect(changes.append)
    with qtbot.waitSignal(control.permanent_error, timeout=GUARD_MS) as blocker:
        control.start()
    assert "certificate verification failed" in blocker.args[0]
    # Retried slowly and still refused: reported again, never connected.
    with qtbot.waitSignal(control.permanent_error, timeout=GUARD_MS):
        pass
    assert changes == [] and not control.connected


def test_bad_credentials_are_reported_and_a_fixed_password_file_is_picked_up(tls_broker, tmp_path,
                                                                           control_factory, qtbot):
    broker, certs = tls_broker
    secret = _room_password(tmp_path, "not-the-password")
    control = control_factory(f"mqtts://127.0.0.1:{broker.port}", ROOM_A, start=False, username=ROOM_A,
                              password_file=str(secret), ca_file=str(certs.ca))
    with qtbot.waitSignal(control.permanent_error, timeout=GUARD_MS) as blocker:
        control.start()
    assert blocker.args[0] in ("bad user name or password", "not authorized")
    assert not control.connected
    secret.write_text(PASSWORDS[ROOM_A] + "\n")  # the operator fixes the file; no restart
    with qtbot.waitSignal(control.connection_changed, timeout=GUARD_MS) as blocker:
        pass
    assert blocker.args == [True]
