"""Connection policy of the MQTT edge, free of I/O so it can be tested alone: how long to wait before the
next attempt (capped exponential back-off with jitter), which refusals are permanent, when to fall back
from MQTT 5 to 3.1.1, and where replies may go."""

from __future__ import annotations

import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

#: First retry after a lost connection. A broker restart takes about a second; retrying sooner mostly
#: meets a closed port.
RECONNECT_MIN_S = 1.0
#: Cap of the doubling back-off: after a long outage a room is back within a minute of the broker, and
#: a fleet of N rooms reconnects at about N/45 per second (jitter spreads the delay over [cap/2, cap]).
RECONNECT_MAX_S = 60.0
#: Retry interval after a permanent refusal (bad credentials, TLS verification failure). Slow so that a
#: fleet with a wrong password does not flood the broker's auth log; short enough that a fixed password
#: file or certificate is picked up within minutes without restarting the agent.
PERMANENT_RETRY_S = 300.0


#: MQTT 5 DISCONNECT reason "Session taken over": another connection used the room's client id.
SESSION_TAKEN_OVER = 0x8E
#: Takeovers of the room's client id within TAKEOVER_WINDOW_S after which the room stops fighting for it
#: and waits PERMANENT_RETRY_S: two clients with one id knock each other off the broker every second,
#: and a hostile one gets the room's queued commands each time it wins.
TAKEOVER_LIMIT = 3
TAKEOVER_WINDOW_S = 60.0


@dataclass
class TakeoverGuard:
    """Counts takeovers of the client id in a sliding window; says when to stop fighting for it."""

    limit: int = TAKEOVER_LIMIT
    window_s: float = TAKEOVER_WINDOW_S
    clock: Callable[[], float] = time.monotonic
    _times: deque = field(default_factory=deque)

    def record(self) -> int:
        """Note a takeover now; the number of takeovers within the window."""
        now = self.clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        return len(self._times)

    def exhausted(self, count: int) -> bool:
        """Whether ``count`` takeovers in the window mean: stop reconnecting at once."""
        return count >= self.limit


class Outcome(Enum):
    """What a failed connection attempt means for the next one."""

    TRANSIENT = "transient"  # retry with back-off
    PERMANENT = "permanent"  # report, retry only slowly; never loosen security to "fix" it
    FALL_BACK = "fall_back"  # the broker does not speak MQTT 5: reconnect with 3.1.1


@dataclass
class Backoff:
    """Capped exponential back-off with "equal jitter": attempt n waits uniform(c/2, c) with
    c = min(max_s, min_s * 2**n), so rooms that lost the broker together do not return together, and no
    room retries in a tight loop. Permanent refusals wait uniform(permanent_s/2, permanent_s)."""

    min_s: float = RECONNECT_MIN_S
    max_s: float = RECONNECT_MAX_S
    permanent_s: float = PERMANENT_RETRY_S
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self, permanent: bool = False) -> float:
        """Seconds to wait before the next attempt; advances the exponent."""
        if permanent:
            ceiling = self.permanent_s
        else:
            ceiling = min(self.max_s, self.min_s * 2 ** min(self.attempt, 32))
            self.attempt += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Connected: the next loss starts again at ``min_s``."""
        self.attempt = 0


# MQTT 5 CONNACK reason codes (MQTT 3.1.1 return codes arrive converted to these by paho).
_UNSUPPORTED_PROTOCOL = 0x84
_PERMANENT_CONNACK = {
    0x85: "the broker rejected the client id",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x8A: "this client is banned",
    0x8C: "bad authentication method",
    0x90: "the broker refused the will topic",
    0x95: "the broker refused the connect packet as too large",
    0x9A: "the broker does not support retained messages",
    0x9B: "the broker does not support QoS 1",
}


def classify_connack(reason: int, *, mqtt5: bool) -> tuple[Outcome, str]:
    """Classify a refused CONNACK (``reason`` >= 0x80, or 0x84 from a v3-only broker)."""
    if reason == _UNSUPPORTED_PROTOCOL:
        if mqtt5:
            return Outcome.FALL_BACK, "the broker does not support MQTT 5"
        return Outcome.PERMANENT, "the broker does not support MQTT 3.1.1 either"
    if reason in _PERMANENT_CONNACK:
        return Outcome.PERMANENT, _PERMANENT_CONNACK[reason]
    return Outcome.TRANSIENT, f"the broker refused the connection (reason code {reason:#04x})"


def classify_connect_error(exc: BaseException | None) -> tuple[Outcome, str]:
    """Classify an exception from opening the connection (socket, DNS, TLS handshake)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome.PERMANENT, f"TLS certificate verification failed: {getattr(exc, 'verify_message', None) or exc}"
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)):
        return Outcome.TRANSIENT, f"TLS connection closed during the handshake: {exc}"
    if isinstance(exc, ssl.SSLError):
        return Outcome.PERMANENT, f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}"
    if exc is None:
        return Outcome.TRANSIENT, "the connection failed"
    return Outcome.TRANSIENT, f"cannot reach the broker: {exc}"


def valid_reply_topic(topic: str | None) -> bool:
    """A ResponseTopic the edge may publish to: non-empty, no wildcards, no NUL, within MQTT's limit."""
    return (bool(topic) and "+" not in topic and "#" not in topic and "\0" not in topic
            and len(topic.encode("utf-8", "surrogatepass")) <= 65535)


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is: ``mqtt://host:port`` (plain) or ``mqtts://host:port`` (TLS)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse a broker URL; raise ValueError on anything else."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"{url!r} is not an mqtt:// or mqtts:// URL")
        tls = parts.scheme == "mqtts"
        host = parts.hostname
        host.encode("idna")  # a name the resolver would choke on (in paho's thread) fails here instead
        return cls(host=host, port=parts.port or (8883 if tls else 1883), tls=tls)


@dataclass(frozen=True)
class Topics:
    """The room's topics under ``<root>/<room>/`` (DESIGN.md §3.2)."""

    root: str
    room: str

    def _topic(self, leaf: str) -> str:
        return f"{self.root}/{self.room}/{leaf}"

    @property
    def availability(self) -> str:
        """Retained ``online``/``offline``; ``offline`` is also the will."""
        return self._topic("availability")

    @property
    def state(self) -> str:
        """Retained JSON state snapshot."""
        return self._topic("state")

    @property
    def command(self) -> str:
        """Commands in (QoS 1, never retained)."""
        return self._topic("command")

    @property
    def response(self) -> str:
        """Replies to requests without an MQTT 5 ResponseTopic."""
        return self._topic("response")

    @property
    def event(self) -> str:
        """Non-retained happenings."""
        return self._topic("event")
