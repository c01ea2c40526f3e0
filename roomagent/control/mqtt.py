"""The MQTT control edge (DESIGN.md §3.2): commands in, replies, state, availability and events out.

paho's network thread owns the socket; everything it learns reaches Qt's main thread through queued
signals, so ``command_received``, ``connection_changed`` and ``permanent_error`` are always emitted in the
thread the object lives in (create it in the main thread). Invalid commands never leave the network
thread: the edge answers them itself (``invalid``/``too_large``) and nothing reaches the app.

Reconnecting is paho's loop with our delays: after every failed attempt (``on_disconnect`` or
``on_connect_fail``, both called in the network thread right before paho's back-off sleep) the next delay
comes from :class:`~roomagent.control.policy.Backoff` and is handed to paho as
``reconnect_delay_set(d, d)``, which makes paho sleep exactly ``d``: capped exponential back-off *with*
jitter, which paho alone does not do. Permanent refusals are reported and retried only every few minutes.
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
import time
from functools import partial

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from roomagent.control.client import (
    OFFLINE,
    ONLINE,
    ReplyRoute,
    build_client,
    connect_async,
    dumps,
    is_v5,
    retire,
    room_password,
    send_reply,
)
from roomagent.control.parse import parse_command
from roomagent.control.policy import (
    SESSION_TAKEN_OVER,
    Backoff,
    BrokerAddress,
    Outcome,
    TakeoverGuard,
    Topics,
    classify_connack,
    classify_connect_error,
    valid_reply_topic,
)
from roomagent.core.commands import CommandReply
from roomagent.profile import MqttSection

__all__ = ["STATE_DEBOUNCE_S", "MqttControl", "ReplyRoute"]

log = logging.getLogger("roomagent.control")

#: Snapshots closer together than this are merged and only the latest is published: a join changes the
#: state several times within milliseconds (lifecycle, then each screen loading); retained state is for
#: people and dashboards, for whom 50 ms is instant, and the broker should not see every step.
STATE_DEBOUNCE_S = 0.05
#: Clean shutdown waits this long for the broker to acknowledge "offline" (systemd allows far longer).
STOP_PUBLISH_TIMEOUT_S = 2.0
#: ... and this long for paho's thread to end. It wakes from its back-off sleep within 1 s; a thread
#: stuck in a hanging DNS lookup is abandoned (it is a daemon thread).
STOP_JOIN_TIMEOUT_S = 2.0


class MqttControl(QObject):
    """The room's MQTT edge. ``start()`` connects in the background; ``stop()`` says goodbye."""

    #: (command model, ReplyRoute); the app runs the command and answers with :meth:`reply`.
    command_received = Signal(object, object)
    #: True once connected and subscribed (the broker acknowledged the command subscription; "online" and
    #: the state are published), False when the link is lost.
    connection_changed = Signal(bool)
    #: A refusal that retrying will not fix (credentials, TLS, ACL): a sentence for the operator.
    permanent_error = Signal(str)
    #: The operator-facing warning about the link changed ('' when there is none): e.g. another client
    #: connected with the room's client id. The glue adds it to the state's ``warnings``.
    warning_changed = Signal(str)

    # Network thread -> main thread. The int is the client generation: signals of a client that was
    # replaced (MQTT 3.1.1 fall-back) or stopped arrive late and are dropped.
    _net_command = Signal(int, object, object)
    _net_connected = Signal(int, bool)
    _net_problem = Signal(int, str)
    _net_fall_back = Signal(int)
    _net_taken_over = Signal(int, int, float)

    def __init__(self, settings: MqttSection, room_id: str, *, version: str, parent: QObject | None = None,
                 client_id: str | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.room_id = room_id
        self.version = version
        self.client_id = client_id or f"roomagent-{room_id}"
        self.topics = Topics(settings.topic_root, room_id)
        #: The reconnect policy; replaceable before ``start()`` (tests use shorter delays).
        self.backoff = Backoff()
        #: When to stop fighting for a client id that others keep taking over; replaceable before ``start()``.
        self.takeovers = TakeoverGuard()
        self._warning = ""
        self._takeover_report: dict | None = None  # published as an event once the room is back
        self._warning_timer: QTimer | None = None
        self._mqtt5 = True
        self._client: mqtt.Client | None = None
        self._generation = 0
        self._lock = threading.Lock()  # guards _online and _state_payload (both threads)
        self._online = False
        self._state_payload: bytes | None = None
        self._connected = False  # what connection_changed said last (main thread)
        self._pending_state: dict | None = None
        self._debounce: QTimer | None = None
        self._retry: QTimer | None = None
        self._refusal: tuple[Outcome, str] | None = None  # network thread only
        self._subscription: int | None = None  # mid of the command SUBSCRIBE (network thread only)
        self._last_problem = ""
        queued = Qt.ConnectionType.QueuedConnection
        self._net_command.connect(self._on_net_command, queued)
        self._net_connected.connect(self._on_net_connected, queued)
        self._net_problem.connect(self._on_net_problem, queued)
        self._net_fall_back.connect(self._on_net_fall_back, queued)
        self._net_taken_over.connect(self._on_net_taken_over, queued)

    # ----- public API (main thread) -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether the edge is connected to the broker (as last announced by ``connection_changed``)."""
        return self._connected

    @property
    def protocol(self) -> str:
        """``"5"``, or ``"3.1.1"`` after the broker refused MQTT 5."""
        return "5" if self._mqtt5 else "3.1.1"

    @property
    def warning(self) -> str:
        """The current warning about the link ('' when there is none); see ``warning_changed``."""
        return self._warning

    def start(self) -> None:
        """Connect in the background (paho's thread does DNS, TCP and TLS); returns at once."""
        if self._client is not None:
            return
        if self.settings.username and self.settings.username != self.room_id:
            # The shipped ACL (kiosk/mosquitto/roomagent.acl) grants a room its topics by user name = room id.
            log.warning("MQTT: logging in as %r, not as the room id %r: with the shipped broker ACL this room "
                        "gets no commands and may not publish its state (set [mqtt] username = %r)",
                        self.settings.username, self.room_id, self.room_id)
        if self._debounce is None:
            self._debounce = QTimer(self)
            self._debounce.setSingleShot(True)
            self._debounce.setInterval(int(STATE_DEBOUNCE_S * 1000))
            self._debounce.timeout.connect(self._flush_state)
        self._connect()

    def stop(self) -> None:
        """Publish ``offline`` (retained, bounded wait for the broker's ack), disconnect, end the thread."""
        if self._retry is not None:
            self._retry.stop()
        if self._warning_timer is not None:
            self._warning_timer.stop()
        client = self._client
        if client is None:
            return
        if self._debounce is not None and self._debounce.isActive():
            self._debounce.stop()
            self._flush_state()
        with self._lock:
            online = self._online
        if online:
            try:
                info = client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
                info.wait_for_publish(STOP_PUBLISH_TIMEOUT_S)
                if not info.is_published():
                    log.warning("MQTT: the broker did not confirm 'offline' within %.0f s", STOP_PUBLISH_TIMEOUT_S)
            except (RuntimeError, ValueError) as exc:
                log.warning("MQTT: could not publish 'offline': %s", exc)
        self._client = None
        self._generation += 1
        thread = retire(client)
        thread.join(STOP_JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.warning("MQTT: the network thread did not end within %.0f s; left behind", STOP_JOIN_TIMEOUT_S)
        with self._lock:
            self._online = False
        if self._connected:
            self._connected = False
            self.connection_changed.emit(False)
        log.info("MQTT: stopped")

    def publish_state(self, snapshot: dict) -> None:
        """Publish the state snapshot (retained, QoS 1), debounced; the latest wins and is republished on
        every reconnect."""
        self._pending_state = snapshot
        if self._debounce is None:  # not started: just remember it for the first connect
            self._flush_state()
        elif not self._debounce.isActive():
            self._debounce.start()

    def flush_state(self) -> None:
        """Publish a debounced snapshot now. Called before a command's reply: a reply that says ``ok``
        must find the retained ``state`` already showing the command's effect (read-your-writes). Both
        go out on the same connection, in this order, so the broker stores the state first."""
        if self._debounce is not None and self._debounce.isActive():
            self._debounce.stop()
        self._flush_state()

    def publish_event(self, name: str, data: dict | None = None) -> None:
        """Publish ``{"event", "at", "data"}`` (QoS 1, not retained). Dropped while disconnected: a late
        event would mislead, and the retained state carries the truth."""
        try:
            payload = dumps({"event": name, "at": time.time(), "data": data or {}})
        except (TypeError, ValueError) as exc:
            log.error("MQTT: event %s not serialisable: %s", name, exc)
            return
        with self._lock:
            client = self._client if self._online else None
            if client is None:
                log.info("MQTT: event %s not sent: not connected", name)
                return
            client.publish(self.topics.event, payload, qos=1, retain=False)

    def reply(self, route: ReplyRoute, reply: CommandReply) -> None:
        """Answer a command on its route (queued by paho until the broker is back, if need be)."""
        client = self._client
        if client is None:
            log.warning("MQTT: reply to %r dropped: the edge is stopped", reply.id)
            return
        send_reply(client, route, reply)

    # ----- client life ------------------------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            address = BrokerAddress.parse(self.settings.url)
            self._generation += 1
            client = build_client(self.settings, address, self.client_id, self.topics, mqtt5=self._mqtt5)
        except (OSError, ValueError, ssl.SSLError) as exc:
            self._report_setup_failure(f"the MQTT settings cannot be used: {exc}")
            return
        gen = self._generation
        client.on_connect = partial(self._on_connect, gen)
        client.on_connect_fail = partial(self._on_connect_fail, gen)
        client.on_disconnect = partial(self._on_disconnect, gen)
        client.on_message = partial(self._on_message, gen)
        client.on_subscribe = partial(self._on_subscribe, gen)
        connect_async(client, self.settings, address, self.version)
        self._client = client
        client.loop_start()
        log.info("MQTT: connecting to %s:%d as %s (MQTT %s%s)", address.host, address.port, self.client_id,
                 self.protocol, ", TLS" if address.tls else "")

    def _report_setup_failure(self, why: str) -> None:
        self._on_net_problem(self._generation, why)
        if self._retry is None:
            self._retry = QTimer(self)
            self._retry.setSingleShot(True)
            self._retry.timeout.connect(self._connect)
        self._retry.start(int(self.backoff.next_delay(permanent=True) * 1000))

    # ----- main-thread slots ------------------------------------------------------------------------------
    def _on_net_command(self, gen: int, command: object, route: ReplyRoute) -> None:
        if gen == self._generation:
            self.command_received.emit(command, route)

    def _on_net_connected(self, gen: int, up: bool) -> None:
        if gen != self._generation or up == self._connected:
            return
        self._connected = up
        if up:
            log.info("MQTT: connected as %s (MQTT %s)", self.client_id, self.protocol)
            self._last_problem = ""
        else:
            log.warning("MQTT: connection lost; reconnecting")
        self.connection_changed.emit(up)
        if up and self._takeover_report is not None:  # back: say what happened while the room was away
            report, self._takeover_report = self._takeover_report, None
            self.publish_event("client_id_taken_over", report)

    def _on_net_problem(self, gen: int, why: str) -> None:
        if gen != self._generation:
            return
        if why != self._last_problem:  # log the change, not every slow retry
            log.error("MQTT: %s; retrying every few minutes until the configuration is fixed", why)
            self._last_problem = why
        self.permanent_error.emit(why)

    def _on_net_taken_over(self, gen: int, count: int, pause_s: float) -> None:
        if gen != self._generation:
            return
        window = self.takeovers.window_s
        if pause_s:
            text = (f"another client took the MQTT client id {self.client_id} over {count} times within "
                    f"{window:.0f} s; the room stopped reconnecting for {pause_s:.0f} s (the broker should "
                    "bind client ids to their users)")
            log.error("MQTT: %s", text)
            self.permanent_error.emit(text)
        else:
            text = f"another client connected with the MQTT client id {self.client_id} and took the room's session over"
            log.warning("MQTT: %s (%d within %.0f s); reconnecting", text, count, window)
        self._takeover_report = {"client_id": self.client_id, "count": count, "window_s": window,
                                 "paused_s": round(pause_s, 1), "at": time.time()}
        self._set_warning(text)
        if self._warning_timer is None:
            self._warning_timer = QTimer(self)
            self._warning_timer.setSingleShot(True)
            self._warning_timer.timeout.connect(lambda: self._set_warning(""))
        # The warning stays until a whole window (plus any pause) passed without another takeover.
        self._warning_timer.start(int((window + pause_s) * 1000))

    def _set_warning(self, text: str) -> None:
        if text != self._warning:
            self._warning = text
            self.warning_changed.emit(text)

    def _on_net_fall_back(self, gen: int) -> None:
        if gen != self._generation or not self._mqtt5:
            return
        log.warning("MQTT: the broker refused MQTT 5; falling back to MQTT 3.1.1 (replies then go to %s)",
                    self.topics.response)
        self._mqtt5 = False
        old, self._client = self._client, None
        if old is not None:
            retire(old)
        self._connect()

    def _flush_state(self) -> None:
        snapshot, self._pending_state = self._pending_state, None
        if snapshot is None:
            return
        try:
            payload = dumps(snapshot)
        except (TypeError, ValueError) as exc:
            log.error("MQTT: state snapshot not serialisable: %s", exc)
            return
        with self._lock:
            if payload == self._state_payload:
                return
            self._state_payload = payload
            if self._online and self._client is not None:
                self._client.publish(self.topics.state, payload, qos=1, retain=True)

    # ----- paho callbacks (network thread) ----------------------------------------------------------------
    def _on_connect(self, gen: int, client: mqtt.Client, _userdata, _flags, reason, _props) -> None:
        if gen != self._generation:
            return
        try:
            if reason.is_failure:
                self._refusal = classify_connack(reason.value, mqtt5=is_v5(client))
                return
            with self._lock:
                self._online = True
                client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
                if self._state_payload is not None:
                    client.publish(self.topics.state, self._state_payload, qos=1, retain=True)
            if is_v5(client):
                # retainAsPublished: a command published with the retain flag shows it even when it is
                # delivered live, so it is refused every time, not only when it replays.
                _, self._subscription = client.subscribe(
                    self.topics.command, options=SubscribeOptions(qos=1, retainAsPublished=True))
            else:
                _, self._subscription = client.subscribe(self.topics.command, qos=1)
            self.backoff.reset()
        except Exception:
            log.exception("MQTT: on_connect failed")

    def _on_subscribe(self, gen: int, _client, _userdata, mid, reason_codes, _props) -> None:
        # Connected means ready for commands: announced once the broker has acknowledged the subscription.
        if gen != self._generation or mid != self._subscription:
            return
        refused = [str(reason) for reason in reason_codes if reason.is_failure]
        if refused:
            self._net_problem.emit(gen, f"the broker refused the subscription to {self.topics.command} "
                                         f"({', '.join(refused)}); check its ACL")
        self._net_connected.emit(gen, True)

    def _on_connect_fail(self, gen: int, client: mqtt.Client, _userdata) -> None:
        # paho calls this inside its ``except OSError`` block: the exception is the one being handled.
        try:
            outcome, why = classify_connect_error(sys.exc_info()[1])
            self._after_failure(gen, client, outcome, why)
        except Exception:
            log.exception("MQTT: on_connect_fail failed")

    def _on_disconnect(self, gen: int, client: mqtt.Client, _userdata, _flags, reason, _props) -> None:
        try:
            with self._lock:
                was_online, self._online = self._online, False
            refusal, self._refusal = self._refusal, None
            if gen != self._generation:
                return
            if getattr(reason, "value", None) == SESSION_TAKEN_OVER:
                self._after_takeover(gen, client)
            else:
                outcome, why = refusal or (Outcome.TRANSIENT, f"connection lost ({reason})")
                self._after_failure(gen, client, outcome, why)
            if was_online:
                self._net_connected.emit(gen, False)
        except Exception:
            log.exception("MQTT: on_disconnect failed")

    def _after_takeover(self, gen: int, client: mqtt.Client) -> None:
        """Another connection took the client id (MQTT 5 only: 3.1.1 brokers just close the socket).
        Reconnect as after any loss, but after ``takeovers.limit`` within the window wait as long as after
        a permanent refusal instead of knocking each other off forever."""
        count = self.takeovers.record()
        pause = self.backoff.next_delay(permanent=True) if self.takeovers.exhausted(count) else 0.0
        delay = pause or self.backoff.next_delay()
        client.reconnect_delay_set(delay, delay)
        self._net_taken_over.emit(gen, count, pause)

    def _after_failure(self, gen: int, client: mqtt.Client, outcome: Outcome, why: str) -> None:
        """Choose the delay before paho's next attempt (paho sleeps right after this callback)."""
        if gen != self._generation:
            return
        if outcome is Outcome.FALL_BACK:
            # Park this client; the main thread replaces it by a 3.1.1 one.
            client.reconnect_delay_set(self.backoff.permanent_s, self.backoff.permanent_s)
            self._net_fall_back.emit(gen)
            return
        permanent = outcome is Outcome.PERMANENT
        delay = self.backoff.next_delay(permanent=permanent)
        client.reconnect_delay_set(delay, delay)
        if permanent:
            self._net_problem.emit(gen, why)
            try:  # an operator may have fixed the password file meanwhile
                if self.settings.username:
                    client.username_pw_set(self.settings.username, room_password(self.settings))
            except OSError as exc:
                log.error("MQTT: cannot read the password file: %s", exc)
        elif self.backoff.attempt == 1:
            log.warning("MQTT: %s; retrying in %.2f s", why, delay)
        else:
            log.debug("MQTT: %s; retrying in %.2f s", why, delay)

    def _on_message(self, gen: int, client: mqtt.Client, _userdata, message: mqtt.MQTTMessage) -> None:
        if gen != self._generation:
            return
        try:
            if message.retain:
                log.warning("MQTT: ignored a retained command on %s: it would run again on every reconnect "
                            "(clear it by publishing an empty retained message)", self.topics.command)
                return
            route = self._route(message.properties)
            result = parse_command(message.payload)
            if isinstance(result, CommandReply):
                log.info("MQTT: refused a command (%s): %s", result.error.code, result.error.message)
                send_reply(client, route, result)
            else:
                self._net_command.emit(gen, result, route)
        except Exception:
            log.exception("MQTT: a command message could not be handled")

    def _route(self, props: Properties | None) -> ReplyRoute:
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        if topic is not None and not valid_reply_topic(topic):
            log.warning("MQTT: unusable response topic %r; replying on %s", topic[:80], self.topics.response)
            topic = None
        return ReplyRoute(topic or self.topics.response, bytes(correlation) if correlation is not None else None)
