"""Which browser engine stands behind the screen windows, chosen from the profile's ``[kiosk]`` section.

Both engines offer the interface of :class:`roomagent.ui.browser.BrowserSession`; a *session factory*
is a callable with that constructor's signature ``(session_id, allowed_hosts, media, parent)``, handed
to :class:`~roomagent.ui.screen.ScreenWindow`. The meeting adapters never learn which engine runs.

* ``qtwebengine`` — Chromium inside this process (PySide6's QtWebEngine, Chromium 140).
* ``chromium`` — Debian's Chromium, one browser process per screen session, over the DevTools pipe
  (:mod:`roomagent.ui.chromium`). On a machine without a GPU it is the one that shows full-screen video
  at full frame rate (README "Screen engines"). When the profile asks for it but the program is
  missing, the room falls back to QtWebEngine and says so, rather than not starting at all.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from roomagent.profile import KioskSection
from roomagent.ui.rendering import RenderingChoice, chromium_flags

log = logging.getLogger(__name__)

#: ``factory(session_id, allowed_hosts, media, parent)`` -> a session (BrowserSession or ChromiumSession).
SessionFactory = Callable[..., Any]


@dataclass(frozen=True)
class EngineChoice:
    """The engine the room runs and why (differs from the profile's only on a fallback)."""

    engine: str
    reason: str


def resolve_engine(kiosk: KioskSection, which: Callable[[str], str | None] = shutil.which) -> EngineChoice:
    """The engine to run: the profile's, unless Chromium is asked for and not installed."""
    if kiosk.engine == "chromium" and which(kiosk.chromium_path) is None:
        choice = EngineChoice("qtwebengine", f"{kiosk.chromium_path} is not installed (apt install chromium); "
                                             "falling back to QtWebEngine")
        log.error("engine: %s", choice.reason)
        return choice
    choice = EngineChoice(kiosk.engine, "the profile sets [kiosk] engine" if kiosk.engine == "chromium"
                          else "the default engine")
    log.info("engine: %s (%s)", choice.engine, choice.reason)
    return choice


def session_factory(kiosk: KioskSection, rendering: RenderingChoice | None = None, *,
                    engine: EngineChoice | None = None, no_sandbox: bool = False,
                    extra_args: Sequence[str] = (), log_path: str | None = None,
                    headless: bool = False) -> SessionFactory:
    """The session class for the room's engine, with the engine's options bound.

    ``no_sandbox``, ``extra_args``, ``log_path`` and ``headless`` only affect the Chromium engine;
    ``no_sandbox`` is for tests and benchmarks that run as root, never for an appliance.
    """
    name = (engine or resolve_engine(kiosk)).engine
    if name != "chromium":
        from roomagent.ui.browser import BrowserSession

        return BrowserSession
    from roomagent.ui.chromium.process import LaunchOptions
    from roomagent.ui.chromium.session import ChromiumSession

    flags = [*(chromium_flags(rendering) if rendering is not None else []), *extra_args]
    options = LaunchOptions(path=kiosk.chromium_path, no_sandbox=no_sandbox, extra_args=tuple(flags),
                            log_path=log_path, headless=headless)
    return functools.partial(ChromiumSession, options=options)


def engine_state(engine: EngineChoice, rendering: RenderingChoice, codecs: dict[str, Any] | None) -> dict[str, Any]:
    """The keys this module contributes to the retained ``state``: ``engine``, ``rendering``, ``codecs``."""
    return {"engine": engine.engine, "rendering": rendering.as_state(), "codecs": codecs}
