"""The MQTT edge when things go wrong: the agent killed, the broker restarted, a broker without MQTT 5,
a DNS lookup that hangs."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading

from roomagent.core.commands import CommandReply
from tests.control.broker import (
    GUARD_S,
    Mosquitto,
    TcpProxy,
    kill_process,
    start_child_agent,
)

GUARD_MS = int(GUARD_S * 1000)


def _reply_ok(control) -> list:
    seen: list = []

    def on_command(command, route) -> None:
        seen.append(command)
        control.reply(route, CommandReply(id=command.id, status="ok"))

    control.command_received.connect(on_command)
    return seen


def test_last_will_says_offline_when_the_agent_process_is_killed(broker, probe_factory):
    probe = probe_factory(broker.port)
    probe.subscribe("roomagent/killed/availability")
    proc, lines = start_child_agent(broker.url, "killed")
    try:
        assert lines.get(timeout=GUARD_S) == "connected"
        probe.wait_for(lambda m: m.payload == b"online")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(GUARD_S)
        probe.wait_for(lambda m: m.payload == b"offline")  # the broker's will, since the agent could not
        assert [m.payload for m in probe.received] == [b"online", b"offline"]
    finally:
        kill_process(proc)


def test_clean_stop_of_the_agent_process_publishes_offline(broker, probe_factory):
    probe = probe_factory(broker.port)
    probe.subscribe("roomagent/stopped/availability")
    proc, lines = start_child_agent(broker.url, "stopped")
    try:
        assert lines.get(timeout=GUARD_S) == "connected"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(GUARD_S) == 0
        probe.wait_for(lambda m: m.payload == b"offline")
    finally:
        kill_process(proc)


def test_broker_restart_keeps_the_session_and_queued_commands(tmp_path, control_factory, probe_factory, qtbot):
    """The broker restarts (SIGTERM, same port, persistence on). The agent reaches it through a proxy
    that stays closed until a QoS 1 command has been queued for the agent's offline session: the command
    was published while the agent was disconnected, without racing the agent's back-off."""
    broker = Mosquitto(tmp_path, persistence=True).start()
    proxy = TcpProxy(broker.port)
    try:
        control = control_factory(f"mqtt://127.0.0.1:{proxy.port}")
        topics = control.topics
        changes: list[bool] = []
        control.connection_changed.connect(changes.append)
        seen = _reply_ok(control)
        snapshot = {"state": "in_meeting", "layout": "cameras"}
        control.publish_state(snapshot)
        watcher = probe_factory(broker.port)
        watcher.subscribe(topics.state)
        qtbot.waitUntil(lambda: bool(watcher.on(topics.state)), timeout=GUARD_MS)
        watcher.close()

        proxy.hold = True
        with qtbot.waitSignal(control.connection_changed, timeout=GUARD_MS) as lost:
            broker.stop()  # SIGTERM: mosquitto writes sessions and retained messages to disk
        assert lost.args == [False]
        broker.start()  # same port, same persistence directory

        ctl = probe_factory(broker.port)
        ctl.subscribe("test/#", topics.availability, topics.state)
        # Remove the restored retained state: only a republish by the agent can bring it back.
        ctl.publish(topics.state, b"", retain=True)
        assert not ctl.publish(topics.command, b'{"id": "queued", "action": "mute"}', response_topic="test/queued",
                               correlation=b"q").is_failure

        with qtbot.waitSignal(control.connection_changed, timeout=GUARD_MS) as back:
            proxy.hold = False
        assert back.args == [True]
        qtbot.waitUntil(lambda: bool(ctl.on("test/queued")), timeout=GUARD_MS)
        assert [c.id for c in seen] == ["queued"]
        assert json.loads(ctl.on("test/queued")[0].payload) == {"id": "queued", "status": "ok"}
        assert changes == [False, True]
        ctl.wait_for(lambda m: m.topic == topics.availability and m.payload == b"online" and not m.retain)
        ctl.wait_for(lambda m: m.topic == topics.state and m.payload and json.loads(m.payload) == snapshot)
        fresh = probe_factory(broker.port)
        fresh.subscribe(topics.state)
        assert json.loads(fresh.wait_for(lambda m: m.retain)[0].payload) == snapshot
    finally:
        proxy.close()
        broker.stop()


def test_falls_back_to_mqtt_311_when_the_broker_refuses_mqtt_5(broker, control_factory, probe_factory, qtbot):
    proxy = TcpProxy(broker.port, v3_only=True)  # answers an MQTT 5 CONNECT like a 3.1.1-only broker
    try:
        listener = probe_factory(broker.port)
        listener.subscribe("roomagent/h0104/#")
        control = control_factory(f"mqtt://127.0.0.1:{proxy.port}")
        assert control.protocol == "3.1.1" and proxy.refused_v5 >= 1
        _reply_ok(control)
        requester = probe_factory(broker.port)  # an MQTT 5 requester; the 3.1.1 edge cannot see its topic
        requester.publish(control.topics.command, b'{"id": "v311", "action": "unmute"}', response_topic="test/x",
                          correlation=b"lost")
        qtbot.waitUntil(lambda: bool(listener.on(control.topics.response)), timeout=GUARD_MS)
        assert json.loads(listener.on(control.topics.response)[0].payload) == {"id": "v311", "status": "ok"}
        assert listener.wait_for(lambda m: m.topic == control.topics.availability)[0].payload == b"online"
    finally:
        proxy.close()


def test_start_and_stop_return_while_the_dns_lookup_hangs(monkeypatch, control_factory):
    entered, release = threading.Event(), threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def hanging_getaddrinfo(host, *args, **kwargs):
        if host == "dns-hangs.example":
            entered.set()
            release.wait(GUARD_S)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    control = control_factory("mqtt://dns-hangs.example:1883", start=False)
    try:
        control.start()
        # start() has returned while paho's thread sits in the lookup ...
        assert entered.wait(GUARD_S) and not release.is_set()
        assert not control.connected
        control.stop()  # ... and so does stop(), although the lookup still hangs
        assert not release.is_set()
    finally:
        release.set()
