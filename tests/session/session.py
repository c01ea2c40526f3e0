"""Headless sway as an unprivileged user, the installed agent in it, and the tools a person would use.

sway refuses to run as root (DESIGN.md §5), and the preinstalled Python lives in root's home, which other
users cannot read. So, when the tests run as root, everything of the session runs as the system user
:data:`USER` (created once), and the agent runs from a venv built from Debian's ``/usr/bin/python3``
(:func:`agent_venv`): dependencies once per machine (cached under /var/tmp, keyed by pyproject.toml),
the project itself re-installed once per test session. Run as an ordinary user, the tests use that user.

The tools (swaymsg, grim, wtype) talk to sway's sockets directly; root may use the user's sockets.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from roomagent.session.swayipc import SwayWindow, swaymsg, windows

REPO = Path(__file__).resolve().parents[2]
#: The system user the session runs as when the tests run as root.
USER = "roomagent-test"
#: Upper bound of every wait for the session; reached only when something is broken, never a timing check.
GUARD_S = 90.0
#: Debian's Python (readable by every user), which the agent's venv is built from.
SYSTEM_PYTHON = "/usr/bin/python3"
VENV_ROOT = Path("/var/tmp")

_TOOLS = ("sway", "swaymsg", "grim", "wtype")
T = TypeVar("T")


def _missing() -> str:
    tools = [t for t in _TOOLS if shutil.which(t) is None]
    if tools:
        return f"not installed: {' '.join(tools)} (apt-get install sway grim wtype)"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} missing (apt-get install python3 python3-venv)"
    return ""


#: Why the sway tests cannot run here ("" when they can).
SWAY_MISSING = _missing()


def wait_for(probe: Callable[[], T], what: str, guard_s: float = GUARD_S, every_s: float = 0.25) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``guard_s`` naming ``what``."""
    deadline = time.monotonic() + guard_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every_s)


def session_user() -> pwd.struct_passwd:
    """The user the session runs as: :data:`USER` (created if needed) under root, else ourselves."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", USER], check=True, capture_output=True)
        return pwd.getpwnam(USER)


def _as_user() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    user = session_user()
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def run_as_user(argv: Sequence[str], workdir: Path, env: dict[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``argv`` as the session user with a private runtime directory in ``workdir``."""
    runtime = user_dir(workdir / "runtime-check", 0o700)
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime),
            "WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman"}
    return subprocess.run(list(argv), env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, cwd="/", **_as_user())


def user_dir(path: Path, mode: int = 0o755) -> Path:
    """``path`` created and owned by the session user (its parents must be reachable: see :func:`scratch`)."""
    path.mkdir(parents=True, exist_ok=True)
    user = session_user()
    os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(mode)
    return path


def scratch() -> Path:
    """A fresh directory outside pytest's root-only tmp_path that the session user owns."""
    return user_dir(Path(tempfile.mkdtemp(prefix="roomagent-sway-")))


# ---- the agent's venv ------------------------------------------------------------------------------

def _requirement() -> str:
    """What to install: the project with its room extra when pyproject has one (the room's dependencies
    moved there), else the project."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return ".[room]" if "room" in project.get("optional-dependencies", {}) else "."


def agent_venv(log: Callable[[str], None] = print) -> Path:
    """A venv the session user can run, with this checkout installed (not editable); returns its root.

    Dependencies are installed once per pyproject.toml (and reused by later runs); the project is
    re-installed on every call (a few seconds), so the agent is the code under test.
    """
    pyproject = (REPO / "pyproject.toml").read_bytes()
    key = hashlib.sha256(pyproject + SYSTEM_PYTHON.encode()).hexdigest()[:12]
    venv = VENV_ROOT / f"roomagent-sway-venv-{key}"
    python = venv / "bin" / "python"
    with open(VENV_ROOT / f"roomagent-sway-venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel run waits for the one building
        started = time.monotonic()
        if not (venv / ".deps-installed").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", _requirement()], cwd=REPO, check=True)
            (venv / ".deps-installed").touch()
            log(f"agent venv: dependencies installed in {time.monotonic() - started:.1f} s ({venv})")
            started = time.monotonic()
        build = Path(tempfile.mkdtemp(prefix="roomagent-wheel-"))
        try:
            subprocess.run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(build),
                            str(REPO)], check=True, capture_output=True)
            wheel = next(build.glob("roomagent-*.whl"))
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                            str(wheel)], check=True, capture_output=True)
        finally:
            shutil.rmtree(build, ignore_errors=True)
            shutil.rmtree(REPO / "build", ignore_errors=True)
        log(f"agent venv: project installed in {time.monotonic() - started:.1f} s")
    return venv


# ---- headless sway ---------------------------------------------------------------------------------

class HeadlessSway:
    """sway with ``outputs`` headless outputs (HEADLESS-1..N) running ``config`` as the session user.

    ``env`` is what sway (and so the agent it starts with ``exec``) gets besides the Wayland basics.
    """

    def __init__(self, workdir: Path, config: Path, outputs: int = 3, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.config = config
        self.outputs = outputs
        self.runtime = workdir / "runtime"
        self.log_path = workdir / "sway.log"
        self._extra = env or {}
        self._proc: subprocess.Popen | None = None
        self.socket = ""
        self.wayland_display = ""

    def start(self) -> "HeadlessSway":
        """Start sway and wait until its IPC socket answers."""
        user_dir(self.runtime, 0o700)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "XDG_RUNTIME_DIR": str(self.runtime),
               "HOME": str(self.workdir), "WLR_BACKENDS": "headless", "WLR_HEADLESS_OUTPUTS": str(self.outputs),
               "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman", "LANG": "C.UTF-8", **self._extra}
        with self.log_path.open("w") as log:
            self._proc = subprocess.Popen(["sway", "--config", str(self.config)], env=env, stdout=log,
                                          stderr=subprocess.STDOUT, cwd=str(self.workdir), **_as_user())

        def ready() -> bool:
            if self._proc.poll() is not None:
                raise AssertionError(f"sway exited ({self._proc.returncode}): {self.log_path.read_text()[-2000:]}")
            sockets = list(self.runtime.glob("sway-ipc.*.sock"))
            displays = [p for p in self.runtime.glob("wayland-*") if not p.name.endswith(".lock")]
            if not sockets or not displays:
                return False
            self.socket, self.wayland_display = str(sockets[0]), displays[0].name
            return len(self.outputs_now()) == self.outputs

        wait_for(ready, "sway's IPC socket and outputs")
        return self

    @property
    def env(self) -> dict[str, str]:
        """The environment for Wayland clients and tools in this session."""
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "XDG_RUNTIME_DIR": str(self.runtime),
                "WAYLAND_DISPLAY": self.wayland_display, "SWAYSOCK": self.socket}

    @property
    def pid(self) -> int:
        """sway's process id."""
        return self._proc.pid if self._proc else 0

    def msg(self, *args: str) -> Any:
        """``swaymsg -r ARGS`` on this sway."""
        return swaymsg(*args, socket=self.socket)

    def outputs_now(self) -> list[str]:
        """The active outputs' names."""
        try:
            return [o["name"] for o in self.msg("-t", "get_outputs") if o.get("active")]
        except Exception:  # noqa: BLE001 - not answering yet
            return []

    def windows(self) -> list[SwayWindow]:
        """Every client window with its output."""
        return windows(self.msg("-t", "get_tree"))

    def screenshot(self, output: str, path: Path) -> Path:
        """``grim -o OUTPUT``: one output as PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["grim", "-o", output, str(path)], env=self.env, check=True, capture_output=True, timeout=60)
        return path

    def type_text(self, text: str) -> None:
        """Type ``text`` into the focused window through a virtual keyboard, as a person would. The pauses
        before and after keep the first and last key (DESIGN.md §5)."""
        subprocess.run(["wtype", "-s", "400", "-d", "80", text, "-s", "400"], env=self.env, check=True,
                       capture_output=True, timeout=60)

    def key(self, name: str) -> None:
        """Press and release one named key (``Escape``, ``Return``)."""
        subprocess.run(["wtype", "-k", name], env=self.env, check=True, capture_output=True, timeout=30)

    def stop(self) -> None:
        """End the session: ``swaymsg exit``, then SIGTERM/SIGKILL if sway lingers."""
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            self.msg("exit")
        except Exception:  # noqa: BLE001 - fall through to the signal
            pass
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=15)

    def log(self) -> str:
        """sway's (and the agent's, which sway started) output so far."""
        return self.log_path.read_text(errors="replace")
