"""A real X server with two monitors (DESIGN.md §5) and the tools a person would use on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

#: Upper bound for X tools and windows to appear; a guard against hangs, not a measured expectation.
X_WAIT_S = 30.0

MONITORS = [("LEFT", "1920/508x1080/286+0+0", "screen"), ("RIGHT", "1920/508x1080/286+1920+0", "none")]


def missing_tools() -> list[str]:
    """The X programs these tests need that are not installed."""
    return [t for t in ("Xvfb", "xrandr", "xdotool", "import") if shutil.which(t) is None]


class Xvfb:
    """``Xvfb`` 3840x1080 split into monitors LEFT and RIGHT; readiness via ``-displayfd`` (no polling)."""

    def __init__(self) -> None:
        self.display = ""
        self._proc: subprocess.Popen | None = None

    def start(self) -> "Xvfb":
        read_fd, write_fd = os.pipe()
        self._proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "3840x1080x24", "-noreset", "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes its display number once it accepts clients
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        for name, geometry, output in MONITORS:
            self.run("xrandr", "--setmonitor", name, geometry, output)
        return self

    @property
    def env(self) -> dict[str, str]:
        """The environment for programs on this display."""
        return {**os.environ, "DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"}

    def run(self, *argv: str, timeout: float = X_WAIT_S, check_status: bool = True) -> str:
        """Run an X tool on this display and return its output (``check_status``: fail on non-zero)."""
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=check_status)
        return done.stdout

    def find_window(self, name: str) -> str:
        """Wait until a window whose title matches ``name`` exists; return its id.

        Not ``xdotool search --sync``: it gives up with status 1 when a window it is looking at is destroyed
        under it (BadWindow), which Qt's and Chromium's short-lived start-up windows sometimes are (seen
        once in a CI-like run). Searching again is the same wait without that race.
        """
        def found() -> str | None:
            ids = self.run("xdotool", "search", "--onlyvisible", "--name", name, check_status=False).split()
            return ids[0] if ids else None

        return wait_for(found, f"a visible window named {name!r}")

    def type_text(self, window: str, text: str) -> None:
        """Focus ``window`` and type ``text`` key by key, as a person at a keyboard would."""
        self.run("xdotool", "windowfocus", "--sync", window)
        self.run("xdotool", "type", "--delay", "60", text)

    def key(self, window: str, key: str) -> None:
        """Press one named key (``Escape``, ``Return``) in ``window``."""
        self.run("xdotool", "windowfocus", "--sync", window)
        self.run("xdotool", "key", key)

    def click(self, x: int, y: int) -> None:
        """Tap the screen at ``x, y``."""
        self.run("xdotool", "mousemove", "--sync", str(x), str(y), "click", "1")

    def screenshot(self, path: Path, crop: str | None = None) -> Path:
        """The whole X screen (or ``crop`` like ``1920x1080+0+0``) as PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        argv = ["import", "-window", "root"]
        if crop:
            argv += ["-crop", crop, "+repage"]
        self.run(*argv, str(path))
        return path

    def stop(self) -> None:
        """Stop the server."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def wait_for(predicate, what: str, timeout: float = X_WAIT_S, interval: float = 0.1):
    """Return ``predicate()``'s first truthy value; fail after ``timeout`` (a hang guard, not a benchmark)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
