"""One Debian Chromium browser process per screen session: its command line, launch, exit and wipe.

The browser gets a fresh ``--user-data-dir`` in a temporary directory (cookies, storage and cache of
one meeting, deleted when the session closes) and ``--remote-debugging-pipe`` on descriptors 3 and 4,
which only this process holds. ``--remote-debugging-port`` and friends are refused: a kiosk never
listens on a network port. ``--no-sandbox`` exists only as an explicit option for tests and benchmarks,
which run as root (Chromium refuses to start as root with its sandbox); the appliance runs the agent as
an unprivileged user and never passes it.

Launch is ``os.posix_spawn`` (safe with Qt's threads, unlike ``fork`` + ``preexec_fn``) in a new process
group, so closing the session can end Chromium's helpers too; its exit is noticed through a pidfd and a
``QSocketNotifier`` (no thread, no polling).
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from roomagent.ui.chromium.cdp import CdpPipe
from roomagent.ui.lockdown import KioskLockdownError

log = logging.getLogger(__name__)

#: Flags that would open the browser to anything but our pipe.
FORBIDDEN_FLAGS = ("--remote-debugging-port", "--remote-debugging-address", "--remote-allow-origins",
                   "--auto-open-devtools-for-tabs", "--user-data-dir", "--remote-debugging-pipe")
#: Every browser of the room gets these: no first-run UI, no phoning home, no bubbles or prompts on a
#: projector, no throttling of a window the OS thinks is hidden, media without a click.
BASE_FLAGS = (
    "--no-first-run", "--no-default-browser-check", "--disable-sync", "--disable-extensions",
    "--disable-component-update", "--disable-background-networking", "--disable-default-apps",
    # The back-forward cache and the spare renderer would keep extra renderers alive: memory a kiosk with
    # one page never uses, and renderer_pid could not name the page's own renderer.
    "--disable-features=Translate,MediaRouter,OptimizationHints,BackForwardCache,SpareRendererForSitePerProcess",
    "--password-store=basic", "--use-mock-keychain", "--noerrdialogs", "--disable-session-crashed-bubble",
    "--hide-crash-restore-bubble", "--disable-infobars", "--deny-permission-prompts", "--no-pings",
    "--autoplay-policy=no-user-gesture-required", "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
    "--disable-pinch", "--overscroll-history-navigation=0",
)
#: Chromium ends its renderers and saves nothing worth waiting for; it is gone ~0.2 s after SIGTERM
#: here. After this it is killed, so closing a session never hangs the screen.
STOP_GRACE_S = 1.5
#: What the window shows until the session navigates: nothing, from nowhere. (Without a page of its own
#: Chromium opens its New Tab page, which fetches the search engine's start page from the internet.)
FIRST_PAGE = "data:text/html,<html><body style='background:%23101826'></body></html>"
PROFILE_PREFIX = "roomagent-chromium-"
#: A user-data-dir this young may belong to a browser that has not taken its lock yet (it does so
#: within a second of start); older and unlocked, it is a leftover.
STALE_PROFILE_AGE_S = 60.0
_FIRST_FD = 10  # pipe ends are moved above 4 so that dup2 onto 3 and 4 cannot clobber one another
#: The last this many bytes of the browser's stderr are kept: when it exits, its own words say why
#: (e.g. "Running as root without --no-sandbox is not supported").
STDERR_TAIL_BYTES = 8192


def exit_reason(stderr_tail: bytes) -> str:
    """Chromium's own explanation in the tail of its stderr: the last ERROR/FATAL line's message, else the
    last non-empty line ('' when there is nothing). Lines look like ``[pid:tid:date:ERROR:file.cc(12)] text``."""
    lines = [line.strip() for line in stderr_tail.decode("utf-8", "replace").splitlines() if line.strip()]
    for line in reversed(lines):
        if ":ERROR:" in line or ":FATAL:" in line:
            return line.split("] ", 1)[1].strip() if "] " in line else line
    return lines[-1][:300] if lines else ""


@dataclass(frozen=True)
class LaunchOptions:
    """How the Chromium engine starts its browsers (from the profile, plus test-only switches)."""

    path: str = "/usr/bin/chromium"
    #: Tests and benchmarks only (they run as root); never set on an appliance.
    no_sandbox: bool = False
    #: Added to every browser's command line, e.g. ``--use-fake-device-for-media-stream`` in tests.
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    #: Where the browsers' stderr goes (Chromium is chatty); ``None``: nowhere.
    log_path: str | None = None
    #: No window at all (the codec probe's throw-away page must not flash on a projector).
    headless: bool = False


def chromium_argv(options: LaunchOptions, user_data_dir: str, geometry: tuple[int, int, int, int],
                  full_screen: bool) -> list[str]:
    """The command line of one browser whose window covers ``geometry`` (x, y, width, height).

    Full screen uses ``--kiosk`` (no browser UI, full screen on the display under the window position);
    otherwise an ``--app`` window of exactly that size (the agent's windowed mode). The first page is
    :data:`FIRST_PAGE`; the session navigates once it is attached.
    """
    for arg in options.extra_args:
        if arg.split("=", 1)[0] in FORBIDDEN_FLAGS:
            raise KioskLockdownError(f"{arg.split('=', 1)[0]} is not allowed for a kiosk browser")
    x, y, width, height = geometry
    argv = [options.path, *BASE_FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe",
            f"--window-position={x},{y}", f"--window-size={width},{height}"]
    if options.no_sandbox:
        argv.append("--no-sandbox")
    argv += list(options.extra_args)
    if options.headless:
        argv += ["--headless", FIRST_PAGE]
    else:
        argv += ["--kiosk", FIRST_PAGE] if full_screen else [f"--app={FIRST_PAGE}"]
    return argv


def _high_fd(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _FIRST_FD)
    os.close(fd)
    return moved


class ChromiumProcess(QObject):
    """A running browser: its pid, its DevTools pipe and its user-data-dir. ``exited(status)`` when it ends
    by itself (a crash, a kill from outside); :meth:`stop` ends it and wipes the directory."""

    exited = Signal(int)

    def __init__(self, options: LaunchOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.pid = 0
        self.user_data_dir = ""
        self.pipe: CdpPipe | None = None
        self._pidfd = -1
        self._exit_notifier: QSocketNotifier | None = None
        self._status: int | None = None
        self._stderr_fd = -1
        self._stderr_notifier: QSocketNotifier | None = None
        self._stderr_log = -1
        #: The last STDERR_TAIL_BYTES of what the browser wrote to stdout/stderr.
        self.stderr_tail = b""

    def start(self, geometry: tuple[int, int, int, int], full_screen: bool) -> CdpPipe:
        """Launch the browser; returns the DevTools pipe to it."""
        path = shutil.which(self.options.path)
        if path is None:
            raise FileNotFoundError(f"Chromium not found at {self.options.path} (apt install chromium)")
        self.user_data_dir = tempfile.mkdtemp(prefix=PROFILE_PREFIX)
        argv = chromium_argv(self.options, self.user_data_dir, geometry, full_screen)
        command_read, command_write = (_high_fd(fd) for fd in os.pipe())
        reply_read, reply_write = (_high_fd(fd) for fd in os.pipe())
        # Its output comes to us through a pipe (the tail kept in memory, copied to log_path if set).
        stderr_read, log_fd = (_high_fd(fd) for fd in os.pipe())
        os.set_blocking(stderr_read, False)
        if self.options.log_path:
            self._stderr_log = os.open(self.options.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                                       0o600)
        try:
            self.pid = os.posix_spawn(path, argv, dict(os.environ), setpgroup=0, file_actions=[
                (os.POSIX_SPAWN_DUP2, command_read, 3),
                (os.POSIX_SPAWN_DUP2, reply_write, 4),
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ])
        except BaseException:
            os.close(stderr_read)
            raise
        finally:
            # The browser holds its own copies now; ours of its ends must go, or EOF would never come.
            for fd in (command_read, reply_write, log_fd):
                os.close(fd)
        self._stderr_fd = stderr_read
        self._stderr_notifier = QSocketNotifier(stderr_read, QSocketNotifier.Type.Read, self)
        self._stderr_notifier.activated.connect(self._drain_stderr)
        log.info("started Chromium pid %d (profile %s)", self.pid, self.user_data_dir)
        self._pidfd = os.pidfd_open(self.pid)
        self._exit_notifier = QSocketNotifier(self._pidfd, QSocketNotifier.Type.Read, self)
        self._exit_notifier.activated.connect(self._on_exit)
        self.pipe = CdpPipe(reply_read, command_write, self)
        return self.pipe

    @property
    def running(self) -> bool:
        """True between :meth:`start` and the browser's exit."""
        return self.pid > 0 and self._status is None

    def _drain_stderr(self) -> None:
        """Read what the browser wrote (never blocks); keep the tail, copy it to ``log_path``."""
        while self._stderr_fd >= 0:
            try:
                data = os.read(self._stderr_fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:  # every writer is gone
                self._close_stderr()
                return
            self.stderr_tail = (self.stderr_tail + data)[-STDERR_TAIL_BYTES:]
            if self._stderr_log >= 0:
                try:
                    os.write(self._stderr_log, data)
                except OSError:
                    pass

    def _close_stderr(self) -> None:
        if self._stderr_notifier is not None:
            self._stderr_notifier.setEnabled(False)
            self._stderr_notifier.deleteLater()
            self._stderr_notifier = None
        for name in ("_stderr_fd", "_stderr_log"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def _on_exit(self) -> None:
        if self._reap(block=False) is not None:
            self._disarm()
            self._drain_stderr()  # what it said last, before it went
            reason = exit_reason(self.stderr_tail)
            log.warning("Chromium pid %d exited by itself (status %d)%s", self.pid, self._status,
                        f": {reason}" if reason else "")
            self.exited.emit(self._status)

    def _reap(self, block: bool) -> int | None:
        if self._status is None and self.pid > 0:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def _disarm(self) -> None:
        if self._exit_notifier is not None:
            self._exit_notifier.setEnabled(False)
            self._exit_notifier.deleteLater()
            self._exit_notifier = None
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1

    def stop(self) -> None:
        """End the browser and its helpers (SIGTERM, then SIGKILL after ``STOP_GRACE_S``) and delete its
        user-data-dir. Synchronous, so nothing of the meeting survives even when the agent exits next."""
        if self.pipe is not None:
            self.pipe.close()
        if self.running:
            self._signal_group(signal.SIGTERM)
            if self._pidfd >= 0 and not select.select([self._pidfd], [], [], STOP_GRACE_S)[0]:
                log.warning("Chromium pid %d ignored SIGTERM; killing it", self.pid)
            self._signal_group(signal.SIGKILL)  # helpers that outlived the browser go too
            self._reap(block=True)
        self._disarm()
        self._drain_stderr()
        self._close_stderr()
        if self.user_data_dir:
            shutil.rmtree(self.user_data_dir, ignore_errors=True)
            log.info("Chromium profile %s deleted", self.user_data_dir)
            self.user_data_dir = ""

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def wipe_stale_profiles(directory: str | None = None, now: float | None = None) -> int:
    """Delete user-data-dirs that an agent which crashed or was killed left behind (a meeting's cookies
    must not outlive it); returns how many. Call once at start. A directory whose browser still runs
    (its ``SingletonLock`` names a live pid) or that is younger than ``STALE_PROFILE_AGE_S`` (a browser
    still starting) is left alone, so a second agent on the machine loses nothing."""
    wiped = 0
    moment = time.time() if now is None else now
    for path in Path(directory or tempfile.gettempdir()).glob(PROFILE_PREFIX + "*"):
        try:
            if moment - path.stat().st_mtime < STALE_PROFILE_AGE_S:
                continue
            owner = int(os.readlink(path / "SingletonLock").rsplit("-", 1)[1])
        except (OSError, ValueError, IndexError):
            owner = 0
        if owner and Path(f"/proc/{owner}").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)
        log.info("deleted a Chromium profile left behind: %s", path)
        wiped += 1
    return wiped


def describe(argv: Sequence[str]) -> str:
    """The command line for a log line, without the long list of base flags."""
    return " ".join(a for a in argv if a not in BASE_FLAGS)
