"""Which browser engine stands behind the screen windows, chosen from the profile's ``[kiosk]`` section.

Both engines implement the screen-session interface :class:`roomagent.ui.session.ScreenSession`; a
:class:`SessionFactory` makes sessions of the room's engine and is handed to
:class:`~roomagent.ui.screen.ScreenWindow`. The meeting adapters never learn which engine runs.

* ``qtwebengine`` — Chromium inside this process (PySide6's QtWebEngine, Chromium 140).
* ``chromium`` — Debian's Chromium, one browser process per screen session, over the DevTools pipe
  (:mod:`roomagent.ui.chromium`). On a machine without a GPU it is the one that shows full-screen video
  at full frame rate (README "Screen engines"). When the profile asks for it but the program is
  missing, the room falls back to QtWebEngine and says so, rather than not starting at all.
* ``auto`` (the default) — Chromium when the rendering probe found no hardware GPU and Debian's Chromium
  is installed and runs; QtWebEngine otherwise. The choice and its reason go to the log and into the
  retained state (``rendering.engine_reason``).

Chromium's sandbox needs an unprivileged user; as root it cannot run (its renderers crash one after the
other). ``auto`` then keeps QtWebEngine and says why; an explicit ``engine = "chromium"`` as root is a
configuration error (:class:`EngineError`, exit status 78) unless the development-only
``QTWEBENGINE_DISABLE_SANDBOX=1`` is set, which then also runs Chromium with ``--no-sandbox``.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from roomagent.profile import KioskSection
from roomagent.ui.rendering import RenderingChoice, chromium_flags

if TYPE_CHECKING:  # Qt stays out of this module until a session is made
    from PySide6.QtWidgets import QWidget

    from roomagent.ui.session import ScreenSession

log = logging.getLogger(__name__)


class SessionFactory(Protocol):
    """Makes a screen session of the room's engine (a BrowserSession or a ChromiumSession)."""

    def __call__(self, session_id: str, allowed_hosts: list[str], media: bool,
                 parent: QWidget | None = None) -> ScreenSession: ...


#: The development-only switch (tests, ``make demo`` as root) that lets Chromium run without its sandbox.
NO_SANDBOX_ENV = "QTWEBENGINE_DISABLE_SANDBOX"
#: ``chromium --version`` answers in ~0.1 s; a browser that needs longer to say its version is broken.
VERSION_TIMEOUT_S = 10.0


class EngineError(Exception):
    """The engine the profile names cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class EngineChoice:
    """The engine the room runs and why; ``no_sandbox`` only under the development-only switch."""

    engine: str
    reason: str
    no_sandbox: bool = False


def chromium_runs(path: str) -> str | None:
    """None when ``path --version`` works; else why not, in the operator's words."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} --version failed: {exc}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return f"{path} --version failed with exit status {done.returncode}" + (f": {tail[0]}" if tail else "")
    return None


def resolve_engine(kiosk: KioskSection, rendering: RenderingChoice | None = None, *,
                   which: Callable[[str], str | None] = shutil.which, euid: Callable[[], int] = os.geteuid,
                   environ: Mapping[str, str] | None = None,
                   runs: Callable[[str], str | None] = chromium_runs, separate_panel: bool = True) -> EngineChoice:
    """The engine to run for the profile's ``[kiosk] engine`` given the rendering probe's ``rendering``
    (None: no probe ran, e.g. an agent embedded in a test). ``separate_panel``: the keypad has its own
    display; without one its compact Leave control sits on the first screen, where a Chromium window would
    cover it, so ``auto`` keeps QtWebEngine. Raises :class:`EngineError` for an explicit ``chromium`` that
    cannot run as root."""
    env = os.environ if environ is None else environ
    root = euid() == 0
    if kiosk.engine == "qtwebengine":
        choice = EngineChoice("qtwebengine", "the profile sets [kiosk] engine = \"qtwebengine\"")
    elif kiosk.engine == "chromium":
        choice = _explicit_chromium(kiosk, root, env.get(NO_SANDBOX_ENV) == "1", which)
    else:
        choice = _auto(kiosk, rendering, root, which, runs, separate_panel)
    log.info("engine: %s, because %s", choice.engine, choice.reason)
    return choice


def _explicit_chromium(kiosk: KioskSection, root: bool, no_sandbox_asked: bool,
                       which: Callable[[str], str | None]) -> EngineChoice:
    if which(kiosk.chromium_path) is None:
        choice = EngineChoice("qtwebengine", f"{kiosk.chromium_path} is not installed (apt install chromium); "
                                             "falling back to QtWebEngine")
        log.error("engine: %s", choice.reason)
        return choice
    if not root:
        return EngineChoice("chromium", "the profile sets [kiosk] engine = \"chromium\"")
    if no_sandbox_asked:
        log.warning("engine: Chromium runs as root WITHOUT its sandbox (%s=1): for development only",
                    NO_SANDBOX_ENV)
        return EngineChoice("chromium", f"the profile sets [kiosk] engine = \"chromium\"; as root without its "
                                        f"sandbox ({NO_SANDBOX_ENV}=1, development only)", no_sandbox=True)
    raise EngineError(
        "[kiosk] engine = \"chromium\" cannot run as root: Chromium's sandbox needs an unprivileged user, "
        "and without it every page crashes. Run the agent as its own user (the appliance's roomagent.service "
        f"does), or use engine = \"auto\" / \"qtwebengine\". For development only, {NO_SANDBOX_ENV}=1 runs "
        "Chromium as root without its sandbox.")


def _auto(kiosk: KioskSection, rendering: RenderingChoice | None, root: bool,
          which: Callable[[str], str | None], runs: Callable[[str], str | None], separate_panel: bool) -> EngineChoice:
    if rendering is None:
        return EngineChoice("qtwebengine", "[kiosk] engine = \"auto\" and no rendering probe ran")
    if rendering.mode == "gpu":
        return EngineChoice("qtwebengine", f"[kiosk] engine = \"auto\" and the screens draw on a GPU "
                                           f"({rendering.renderer or rendering.reason})")
    lacking = f"[kiosk] engine = \"auto\" and no hardware GPU ({rendering.reason})"
    if which(kiosk.chromium_path) is None:
        return EngineChoice("qtwebengine", f"{lacking}, but {kiosk.chromium_path} is not installed (apt install "
                                           "chromium): full-screen video below its frame rate")
    if not separate_panel:
        return EngineChoice("qtwebengine", f"{lacking}, but the room has no [panel] output: the keypad's Leave "
                                           "control shares the first screen, where Chromium's window would cover it")
    if root:
        return EngineChoice("qtwebengine", f"{lacking}, but the agent runs as root, where Chromium cannot run "
                                           "with its sandbox: full-screen video below its frame rate")
    problem = runs(kiosk.chromium_path)
    if problem:
        return EngineChoice("qtwebengine", f"{lacking}, but Chromium does not run ({problem})")
    return EngineChoice("chromium", f"{lacking}: Debian's Chromium shows full-screen video at full frame rate "
                                    "without one")


def session_factory(kiosk: KioskSection, rendering: RenderingChoice | None = None, *,
                    engine: EngineChoice | None = None, no_sandbox: bool = False,
                    extra_args: Sequence[str] = (), log_path: str | None = None,
                    headless: bool = False) -> SessionFactory:
    """The session class for the room's engine, with the engine's options bound.

    ``no_sandbox``, ``extra_args``, ``log_path`` and ``headless`` only affect the Chromium engine;
    ``no_sandbox`` is for tests and benchmarks that run as root, never for an appliance.
    """
    if engine is None:
        # A caller that asks for no_sandbox (a test or benchmark as root) has already chosen the escape hatch.
        environ = {**os.environ, NO_SANDBOX_ENV: "1"} if no_sandbox else None
        engine = resolve_engine(kiosk, rendering, environ=environ)
    if engine.engine != "chromium":
        from roomagent.ui.browser import BrowserSession

        return BrowserSession
    from roomagent.ui.chromium.process import LaunchOptions
    from roomagent.ui.chromium.session import ChromiumSession

    flags = [*(chromium_flags(rendering) if rendering is not None else []), *extra_args]
    options = LaunchOptions(path=kiosk.chromium_path, no_sandbox=no_sandbox or engine.no_sandbox,
                            extra_args=tuple(flags), log_path=log_path, headless=headless)
    return functools.partial(ChromiumSession, options=options)


def engine_state(engine: EngineChoice, rendering: RenderingChoice, codecs: dict[str, Any] | None) -> dict[str, Any]:
    """The keys this module contributes to the retained ``state``: ``engine``, ``rendering``, ``codecs``."""
    return {"engine": engine.engine, "rendering": rendering.as_state(), "codecs": codecs}
