"""The appliance process: profile, Qt application, signals, systemd, and the room agent inside it."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from roomagent.app import RoomAgent
from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.directory.client import DirectoryClient
from roomagent.profile import RoomProfile, load_profile
from roomagent.sdnotify import Notifier, watchdog_period_s
from roomagent.ui.engine import EngineError
from roomagent.ui.lockdown import remote_debugging_setting
from roomagent.ui.rendering import RenderingChoice, Setting, apply_rendering

log = logging.getLogger("roomagent")

#: Screenshots in offscreen mode wait for the page to paint after loadFinished.
SNAPSHOT_DELAY_S = 0.8


def install_sigterm_handler(app: QApplication, on_term: Callable[[], None]) -> QSocketNotifier:
    """Turn SIGTERM/SIGINT into a clean shutdown inside Qt's loop (``set_wakeup_fd`` + QSocketNotifier)."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)  # the wake-up byte is what matters
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def _on_activated() -> None:
        reader.recv(64)
        on_term()

    notifier.activated.connect(_on_activated)
    notifier._sockets = (reader, writer)  # keep both ends alive as long as the notifier
    return notifier


def start_watchdog(parent: QApplication, systemd: Notifier) -> QTimer | None:
    """``WATCHDOG=1`` from the Qt main loop every half ``WATCHDOG_USEC``: when the loop stalls the pings stop
    and systemd restarts the service. None (nothing sent) when no watchdog is asked for."""
    period_s = watchdog_period_s()
    if period_s is None:
        return None
    timer = QTimer(parent)
    timer.setInterval(max(1, int(period_s * 1000)))
    timer.timeout.connect(systemd.watchdog)
    timer.start()
    return timer


def prepare_environment(offscreen: bool, rendering: Setting = "auto") -> RenderingChoice:
    """Qt/Chromium settings that must exist before QApplication; returns the rendering path chosen."""
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    choice = apply_rendering(rendering)
    # Meeting audio must start without a click; fake devices only where a test asks for them.
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if "--autoplay-policy" not in flags:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (flags + " --autoplay-policy=no-user-gesture-required").strip()
    return choice


def run(config: str | None, *, offscreen_dir: str | None = None, windowed: bool | None = False,
        profile: RoomProfile | None = None, on_started: Callable[[RoomAgent], None] | None = None) -> int:
    """``roomagent run``: load the profile (exit 78 when broken), start the room, run until SIGTERM."""
    if profile is None:
        try:
            profile = load_profile(config)
        except ConfigError as exc:
            exc.report()
            return EX_CONFIG
    debugging = remote_debugging_setting()
    if debugging:
        print(f"configuration error: {debugging} is set; a kiosk must not expose a remote debugging port",
              file=sys.stderr)
        return EX_CONFIG
    rendering = prepare_environment(offscreen_dir is not None, profile.kiosk.rendering)
    app = QApplication.instance() or QApplication([])
    settings = profile.directory

    def directory() -> DirectoryClient:
        # Room-Id/Room-Name let the directory relay a meeting server's commands to this room.
        return DirectoryClient(settings.url, ca_bundle=settings.ca_bundle or None, timeout_s=settings.timeout_s,
                               room_id=profile.room.id, room_name=profile.room.name,
                               secret_file=settings.secret_file or None)

    if windowed is None:  # auto: tile windows when there are fewer displays than room screens
        windowed = len(QGuiApplication.screens()) < len(profile.screens)
    try:
        agent = RoomAgent.from_profile(profile, directory, windowed=windowed, rendering=rendering)
    except EngineError as exc:  # e.g. engine = "chromium" as root: a configuration error, not a crash loop
        print(f"configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    agent.start()
    remote = None
    if profile.mqtt is not None:
        from roomagent import __version__
        from roomagent.control.mqtt import MqttControl
        from roomagent.remote import RemoteControl

        remote = RemoteControl(agent, MqttControl(profile.mqtt, profile.room.id, version=__version__))
        remote.start()
    snapshots = None
    if offscreen_dir:
        from roomagent.ui.snapshots import Snapshotter

        snapshots = Snapshotter(agent, Path(offscreen_dir), delay_s=SNAPSHOT_DELAY_S)
        snapshots.start()
    systemd = Notifier()
    notifier = install_sigterm_handler(app, app.quit)
    # `kill -USR1 <agent>` writes every thread's stack to stderr (the journal): a hung agent explains itself.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    log.info("room %s ready: %d screen(s)", profile.room.id, len(profile.screens))
    # READY once the first frame of the keypad is queued: the event loop starts right after this.
    # MAINPID: under the kiosk compositor systemd started sway; the agent is the process that counts.
    QTimer.singleShot(0, lambda: systemd.ready(f"room {profile.room.id}: keypad shown", main_pid=os.getpid()))
    watchdog = start_watchdog(app, systemd)
    agent.state_changed.connect(lambda state: systemd.status(f"room {profile.room.id}: {state.lifecycle.value}"))
    if on_started is not None:
        on_started(agent)
    status = app.exec()
    if watchdog is not None:
        watchdog.stop()
    systemd.stopping()
    if remote is not None:
        remote.stop()
    agent.stop()
    notifier.setEnabled(False)
    return status
