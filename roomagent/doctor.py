"""``roomagent doctor``: does this room work, and if not, what to fix first.

Each check is a plain function of the profile and what a *probe* found (screens Qt reports, capture
devices udev lists, an HTTP answer, a broker's CONNACK, the kernel's clock state, free disk space), so the
verdicts are tested without Qt, udev or a network. :class:`Probes` bundles the real probes;
:func:`run_checks` applies them and :func:`main` prints a table (or ``--json``) and returns the exit status:
0 when nothing failed (warnings do not fail), 1 otherwise, 78 when the profile itself is invalid.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import email.utils
import json
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.profile import MqttSection, RoomProfile, load_profile
from roomagent.session.checks import SessionInfo, check_session, sway_session
from roomagent.session.swayipc import SwayError

Status = Literal["pass", "warn", "fail"]

#: Waiting for the directory's /healthz; the panel itself gives up after ``directory.timeout_s``.
HTTP_TIMEOUT_S = 5.0
#: Waiting for the broker's CONNACK; long enough for a TLS handshake across a campus network.
BROKER_TIMEOUT_S = 5.0
#: Clock difference to the directory that breaks TLS and meeting tokens (certificates, signed links are
#: checked to the minute); below it a clock is merely untidy.
CLOCK_SKEW_FAIL_S = 60.0
#: Free space below which the journal and browser caches start failing writes.
DISK_FAIL_BYTES = 200 * 1024 * 1024
#: Free space below which an update or a week of journal may no longer fit.
DISK_WARN_BYTES = 1024 * 1024 * 1024
#: Where the service keeps its state (StateDirectory=roomagent).
STATE_DIR = Path("/var/lib/roomagent")


@dataclass(frozen=True)
class Check:
    """One row of the report."""

    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class ScreenInfo:
    """A display as Qt reports it."""

    name: str
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class CaptureDevice:
    """A V4L2 device that can capture (an HDMI grabber, a camera)."""

    node: str
    name: str


@dataclass(frozen=True)
class HttpAnswer:
    """Status and ``Date`` header (seconds since the epoch, None without one) of an HTTP response."""

    status: int
    date: float | None = None


class ProbeError(Exception):
    """A probe could not get an answer; the message says why, in the operator's words."""


# ---- checks (no I/O) -------------------------------------------------------------------------------


def check_screens(profile: RoomProfile, found: Sequence[ScreenInfo], platform: str) -> list[Check]:
    """Configured outputs against the displays found: missing ones fail; a left-to-right order of the
    displays that differs from the profile's order is a warning (projector cables swapped?)."""
    names = [s.name for s in found]
    listing = ", ".join(n or "(unnamed)" for n in names) or "none"
    where = f" [Qt platform {platform}]" if platform else ""
    rows: list[Check] = []
    configured = [s for s in profile.screens if s.output]
    missing = [s for s in configured if s.output not in names]
    if missing:
        rows.append(Check("screens", "fail", "not found: " + ", ".join(f"{s.id} → {s.output}" for s in missing)
                          + f"; displays found: {listing}{where}"))
    elif len(found) < len(profile.screens):
        rows.append(Check("screens", "fail", f"{len(profile.screens)} screens configured, {len(found)} "
                          f"display(s) found: {listing}{where}"))
    else:
        by_name = {s.name: s for s in found}
        placed = [by_name[s.output] for s in configured]
        order = [s.name for s in sorted(placed, key=lambda d: (d.x, d.y))]
        if len(placed) > 1 and order != [s.name for s in placed]:
            rows.append(Check("screens", "warn", "displays are arranged " + ", ".join(order) + " from left to "
                              "right but the profile lists " + ", ".join(s.output for s in configured)
                              + "; swapped cables? (`roomagent ctl identify_screens` shows which is which)"))
        else:
            rows.append(Check("screens", "pass", ", ".join(f"{s.id} → {s.output or 'by position'}"
                                                           for s in profile.screens) + f"; found: {listing}"))
    panel = profile.panel.output
    if panel and panel not in names:
        rows.append(Check("panel", "fail", f"touch panel output {panel} not found; displays found: {listing}"))
    return rows


def check_capture(devices: Sequence[CaptureDevice] | None) -> Check:
    """Capture inputs are optional equipment: none is a warning, not a failure."""
    if devices is None:
        return Check("capture", "warn", "udev is not available; capture devices cannot be listed")
    if not devices:
        return Check("capture", "warn", "no capture device (HDMI grabber, camera) found")
    return Check("capture", "pass", ", ".join(f"{d.node} ({d.name})" for d in devices))


def check_directory(url: str, answer: HttpAnswer | ProbeError) -> Check:
    """The directory's /healthz must answer 200."""
    if isinstance(answer, ProbeError):
        return Check("directory", "fail", f"{url}: {answer}")
    if answer.status != 200:
        return Check("directory", "fail", f"{url}/healthz answered HTTP {answer.status}")
    return Check("directory", "pass", f"{url} reachable")


def check_broker(mqtt: MqttSection | None, outcome: ProbeError | None, room_id: str = "") -> Check:
    """The broker must accept the room's credentials (``outcome`` None: CONNACK success). With ``room_id``,
    a user name other than the room id is a warning: the shipped ACL grants a room the topics of its user
    name (kiosk/mosquitto/roomagent.acl), so the room would connect but never get its commands."""
    if mqtt is None:
        return Check("broker", "pass", "no [mqtt] section: remote control is off")
    who = f" as {mqtt.username}" if mqtt.username else ""
    mismatch = ""
    if room_id and mqtt.username and mqtt.username != room_id:
        mismatch = (f"; the user name {mqtt.username} is not the room id {room_id}: with the shipped broker ACL "
                    f"the room gets no commands (set [mqtt] username = \"{room_id}\")")
    if outcome is not None:
        return Check("broker", "fail", f"{mqtt.url}{who}: {outcome}{mismatch}")
    return Check("broker", "warn" if mismatch else "pass", f"{mqtt.url}{who}: connected{mismatch}")


def check_clock(synchronised: bool | None, skew_s: float | None) -> Check:
    """A clock far from the directory's fails (TLS, tokens); an unsynchronised one is a warning."""
    if skew_s is not None and abs(skew_s) > CLOCK_SKEW_FAIL_S:
        return Check("clock", "fail", f"{skew_s:+.0f} s off the directory's clock; is NTP reachable?")
    against = f", {skew_s:+.0f} s from the directory" if skew_s is not None else ""
    if synchronised is None:
        return Check("clock", "warn", "synchronisation state unknown" + against)
    if not synchronised:
        return Check("clock", "warn", "not synchronised by NTP" + against)
    return Check("clock", "pass", "synchronised" + against)


def check_disk(usage: dict[str, int]) -> Check:
    """Free bytes per path; the smallest decides."""
    if not usage:
        return Check("disk", "warn", "no path to measure")
    path, free = min(usage.items(), key=lambda item: item[1])
    text = ", ".join(f"{p}: {_size(b)} free" for p, b in usage.items())
    if free < DISK_FAIL_BYTES:
        return Check("disk", "fail", text)
    if free < DISK_WARN_BYTES:
        return Check("disk", "warn", text)
    return Check("disk", "pass", text)


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


# ---- probes (I/O) ----------------------------------------------------------------------------------


def qt_screens() -> tuple[str, list[ScreenInfo]]:
    """The displays Qt reports, with the platform the environment gives (offscreen without a display)."""
    if not (os.environ.get("QT_QPA_PLATFORM") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])
    screens = [ScreenInfo(s.name(), s.geometry().x(), s.geometry().y(), s.geometry().width(),
                          s.geometry().height()) for s in app.screens()]
    return app.platformName(), screens


def udev_capture_devices() -> list[CaptureDevice] | None:
    """Video4linux devices whose capabilities include ``capture``; None when udev cannot be asked."""
    try:
        import pyudev

        context = pyudev.Context()
        devices = list(context.list_devices(subsystem="video4linux"))
    except Exception:  # noqa: BLE001 - no libudev, no /run/udev: the row says "cannot be listed"
        return None
    found = []
    for device in devices:
        capabilities = device.properties.get("ID_V4L_CAPABILITIES", "")
        if "capture" in capabilities.split(":") and device.device_node:
            name = device.properties.get("ID_V4L_PRODUCT") or device.properties.get("ID_MODEL", "")
            found.append(CaptureDevice(device.device_node, name or "unnamed"))
    return sorted(found, key=lambda d: d.node)


def http_health(url: str, ca_bundle: str, timeout_s: float = HTTP_TIMEOUT_S) -> HttpAnswer | ProbeError:
    """GET ``<url>/healthz`` with the profile's CA (verification always on)."""
    import httpx

    try:
        response = httpx.get(f"{url}/healthz", verify=ca_bundle or True, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return ProbeError(f"not reachable ({type(exc).__name__}: {exc})")
    date = response.headers.get("date")
    parsed = email.utils.parsedate_to_datetime(date).timestamp() if date else None
    return HttpAnswer(response.status_code, parsed)


def mqtt_connect(settings: MqttSection, room_id: str, timeout_s: float = BROKER_TIMEOUT_S) -> ProbeError | None:
    """Connect with the room's credentials and TLS files, then disconnect. A client id of its own (the
    agent's session must not be taken over), a clean session and no will (nothing is published)."""
    from roomagent.control.client import credentials_of
    from roomagent.control.paho_client import new_client
    from roomagent.control.policy import BrokerAddress

    address = BrokerAddress.parse(settings.url)
    try:
        client = new_client(f"roomagent-{room_id}-doctor-{secrets.token_hex(3)}", credentials_of(settings),
                            tls=address.tls)
    except (OSError, ValueError) as exc:
        return ProbeError(f"cannot use the credentials: {exc}")
    answered = threading.Event()
    result: list[object] = []

    def on_connect(_client, _userdata, _flags, reason, _props) -> None:
        result.append(reason)
        answered.set()

    client.on_connect = on_connect
    client.connect_timeout = timeout_s
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        return ProbeError(f"not reachable ({exc.strerror or exc})")
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            return ProbeError(f"no answer within {timeout_s:.0f} s")
        reason = result[0]
        if getattr(reason, "is_failure", False):
            return ProbeError(f"refused: {reason}")
        return None
    finally:
        client.disconnect()
        client.loop_stop()


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h>: the leading fields, then padding for the rest (the kernel writes
    # the whole struct, 208 bytes on 64-bit Linux; 256 leaves room on every architecture).
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("_rest", ctypes.c_byte * 256)]


_STA_UNSYNC = 0x0040
_TIME_ERROR = 5
#: timedated's rule for "NTPSynchronized": the kernel's maximum error stays below 16 s.
_MAX_ERROR_US = 16_000_000


def kernel_clock_synchronised() -> bool | None:
    """Whether an NTP client (timesyncd, chrony, ntpd) has disciplined the kernel clock.

    Read with adjtimex(2) in read-only mode: the kernel state that systemd-timedated itself derives
    ``NTPSynchronized`` from, without D-Bus and without timedated running (a rescue shell, a container).
    None when the call is not available.
    """
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        timex = _Timex()  # modes = 0: read only, no privilege needed
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR and not (timex.status & _STA_UNSYNC) and timex.maxerror < _MAX_ERROR_US


def free_bytes(paths: Sequence[Path]) -> dict[str, int]:
    """Free bytes (for unprivileged users) of each existing path."""
    return {str(p): shutil.disk_usage(p).free for p in paths if p.exists()}


@dataclass
class Probes:
    """The outside world as the checks see it; tests replace single probes."""

    screens: Callable[[], tuple[str, list[ScreenInfo]]] = qt_screens
    #: The kiosk session (sway): None when none is found.
    session: Callable[[], SessionInfo | SwayError | None] = sway_session
    capture: Callable[[], list[CaptureDevice] | None] = udev_capture_devices
    http: Callable[[str, str], HttpAnswer | ProbeError] = http_health
    broker: Callable[[MqttSection, str], ProbeError | None] = mqtt_connect
    clock: Callable[[], bool | None] = kernel_clock_synchronised
    disk: Callable[[Sequence[Path]], dict[str, int]] = free_bytes
    now: Callable[[], float] = time.time
    disk_paths: Sequence[Path] = field(default_factory=lambda: (STATE_DIR, Path("/")))


def run_checks(profile: RoomProfile, probes: Probes) -> list[Check]:
    """Every row, in the order an operator would fix things."""
    rows = [Check("profile", "pass", f"room {profile.room.id} ({profile.room.name}), "
                                     f"{len(profile.screens)} screen(s)")]
    platform, screens = probes.screens()
    rows += check_screens(profile, screens, platform)
    rows += [Check(name, status, detail) for name, status, detail in check_session(profile, probes.session())]
    rows.append(check_capture(probes.capture()))
    answer = probes.http(profile.directory.url, profile.directory.ca_bundle)
    rows.append(check_directory(profile.directory.url, answer))
    broker = probes.broker(profile.mqtt, profile.room.id) if profile.mqtt is not None else None
    rows.append(check_broker(profile.mqtt, broker, profile.room.id))
    skew = None
    if isinstance(answer, HttpAnswer) and answer.date is not None:
        skew = probes.now() - answer.date
    rows.append(check_clock(probes.clock(), skew))
    rows.append(check_disk(probes.disk(probes.disk_paths)))
    return rows


def exit_status(rows: Sequence[Check]) -> int:
    """1 when any row failed, else 0."""
    return 1 if any(r.status == "fail" for r in rows) else 0


def render_table(rows: Sequence[Check]) -> str:
    """The human report: one aligned line per check."""
    width = max(len(r.name) for r in rows)
    marks = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = [f"{marks[r.status]}  {r.name:<{width}}  {r.detail}" for r in rows]
    failed = sum(r.status == "fail" for r in rows)
    warned = sum(r.status == "warn" for r in rows)
    lines.append(f"{failed} failed, {warned} warning(s)")
    return "\n".join(lines)


def main(config: str | None, *, as_json: bool = False, probes: Probes | None = None) -> int:
    """``roomagent doctor``: 0 all good (warnings allowed), 1 something failed, 78 invalid profile."""
    try:
        profile = load_profile(config)
    except ConfigError as exc:
        if as_json:
            print(json.dumps({"ok": False, "checks": [asdict(Check("profile", "fail", line))
                                                      for line in exc.errors]}, indent=2))
        exc.report()
        return EX_CONFIG
    rows = run_checks(profile, probes or Probes())
    status = exit_status(rows)
    if as_json:
        print(json.dumps({"ok": status == 0, "checks": [asdict(r) for r in rows]}, indent=2))
    else:
        print(render_table(rows))
    sys.stdout.flush()
    return status
