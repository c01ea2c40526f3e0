"""The MQTT edge's connection policy (pure): back-off, refusal classes, MQTT 5 fall-back, topics."""

from __future__ import annotations

import random
import socket
import ssl

import pytest

from roomagent.control.policy import (
    RECONNECT_MAX_S,
    RECONNECT_MIN_S,
    Backoff,
    BrokerAddress,
    Outcome,
    Topics,
    classify_connack,
    classify_connect_error,
    valid_reply_topic,
)


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(RECONNECT_MAX_S, RECONNECT_MIN_S * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not a fixed ladder


def test_backoff_jitter_spreads_a_fleet() -> None:
    """Rooms that lost the broker together do not come back together."""
    firsts = [Backoff(rng=random.Random(seed)).next_delay() for seed in range(200)]
    assert max(firsts) - min(firsts) > RECONNECT_MIN_S / 3


def test_backoff_resets_after_a_connect_and_permanent_errors_wait_long() -> None:
    backoff = Backoff(min_s=1, max_s=60, permanent_s=300, rng=random.Random(1))
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 1
    assert all(150 <= backoff.next_delay(permanent=True) <= 300 for _ in range(20))
    assert backoff.attempt == 1  # permanent waits do not advance the exponent


def test_unsupported_protocol_falls_back_from_mqtt5_only() -> None:
    assert classify_connack(0x84, mqtt5=True)[0] is Outcome.FALL_BACK
    assert classify_connack(0x84, mqtt5=False)[0] is Outcome.PERMANENT


@pytest.mark.parametrize(("reason", "outcome"), [
    (0x86, Outcome.PERMANENT),  # bad user name or password (3.1.1: return code 4)
    (0x87, Outcome.PERMANENT),  # not authorized (3.1.1: return code 5)
    (0x85, Outcome.PERMANENT),  # client id rejected
    (0x8A, Outcome.PERMANENT),  # banned
    (0x88, Outcome.TRANSIENT),  # server unavailable
    (0x89, Outcome.TRANSIENT),  # server busy
    (0x9F, Outcome.TRANSIENT),  # connection rate exceeded
    (0x80, Outcome.TRANSIENT),  # unspecified
])
def test_connack_refusals(reason: int, outcome: Outcome) -> None:
    assert classify_connack(reason, mqtt5=True)[0] is outcome
    assert classify_connack(reason, mqtt5=False)[0] is outcome


def test_connect_errors() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    outcome, why = classify_connect_error(verify)
    assert outcome is Outcome.PERMANENT and "unable to get local issuer certificate" in why
    assert classify_connect_error(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER]"))[0] is Outcome.PERMANENT
    assert classify_connect_error(ssl.SSLEOFError(8, "EOF"))[0] is Outcome.TRANSIENT
    assert classify_connect_error(ConnectionRefusedError(111, "refused"))[0] is Outcome.TRANSIENT
    assert classify_connect_error(socket.gaierror(-3, "Temporary failure"))[0] is Outcome.TRANSIENT
    assert classify_connect_error(TimeoutError("timed out"))[0] is Outcome.TRANSIENT
    assert classify_connect_error(None)[0] is Outcome.TRANSIENT


@pytest.mark.parametrize(("topic", "ok"), [
    ("roomagent/_ctl/abc/reply", True), ("a", True), ("", False), (None, False), ("a/+/b", False),
    ("a/#", False), ("a\0b", False), ("x" * 70000, False),
])
def test_reply_topics(topic, ok) -> None:
    assert valid_reply_topic(topic) is ok


def test_broker_address() -> None:
    assert BrokerAddress.parse("mqtt://broker.example") == BrokerAddress("broker.example", 1883, False)
    assert BrokerAddress.parse("mqtts://broker.example") == BrokerAddress("broker.example", 8883, True)
    assert BrokerAddress.parse("mqtts://10.0.0.1:9999") == BrokerAddress("10.0.0.1", 9999, True)
    for bad in ("http://broker", "mqtt://", "mqtt://" + "a" * 70 + ".example"):
        with pytest.raises(ValueError):
            BrokerAddress.parse(bad)


def test_topics() -> None:
    topics = Topics("campus/av", "h0104")
    assert (topics.availability, topics.state, topics.command, topics.response, topics.event) == (
        "campus/av/h0104/availability", "campus/av/h0104/state", "campus/av/h0104/command",
        "campus/av/h0104/response", "campus/av/h0104/event")
