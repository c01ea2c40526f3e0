"""``roomagent doctor``'s look at the kiosk session: is sway running, are the room's outputs there, is the
touchscreen mapped to the panel's output, are the agent's windows full screen where they belong.

:func:`sway_session` asks the running sway (through ``swaymsg``); :func:`check_session` judges what it
found against the profile without any I/O, so the verdicts are tested with made-up answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from roomagent.profile import RoomProfile
from roomagent.session.sway import PANEL_TITLE, chromium_app_id, screen_title, touch_output
from roomagent.session.swayipc import SwayError, SwayWindow, find_socket, swaymsg, windows

Status = Literal["pass", "warn", "fail"]
#: One row: (name, status, detail) — doctor wraps it in its own Check.
Row = tuple[str, Status, str]


@dataclass(frozen=True)
class SessionInfo:
    """What sway reported."""

    version: str
    outputs: list[str]
    touch_devices: list[str]
    #: The configuration sway loaded (``get_config``), where the touch mapping is.
    config: str
    windows: list[SwayWindow] = field(default_factory=list)


def sway_session(socket_finder: Callable[[], str | None] = find_socket) -> SessionInfo | SwayError | None:
    """The running sway's answers; None when no sway socket is found, :class:`SwayError` when it does not
    answer."""
    socket = socket_finder()
    if socket is None:
        return None
    try:
        version = swaymsg("-t", "get_version", socket=socket).get("human_readable", "?")
        outputs = [o["name"] for o in swaymsg("-t", "get_outputs", socket=socket) if o.get("active")]
        touch = [i.get("name", i.get("identifier", "?")) for i in swaymsg("-t", "get_inputs", socket=socket)
                 if i.get("type") == "touch"]
        config = swaymsg("-t", "get_config", socket=socket).get("config", "")
        tree = windows(swaymsg("-t", "get_tree", socket=socket))
    except SwayError as exc:
        return exc
    return SessionInfo(version, outputs, touch, config, tree)


def _mapped_to(config: str) -> set[str]:
    """Outputs the configuration maps touch devices to (``input type:touch map_to_output X`` or an
    ``input <identifier> map_to_output X``)."""
    found = set()
    for line in config.splitlines():
        match = re.match(r'\s*input\s+(\S+)\s+map_to_output\s+"?([^"\s]+)"?', line)
        if match and match.group(1) != "type:tablet_tool":
            found.add(match.group(2))
    return found


def check_session(profile: RoomProfile, found: SessionInfo | SwayError | None) -> list[Row]:
    """The session rows: ``compositor``, ``outputs``, ``touch``, ``windows``."""
    if found is None:
        return [("compositor", "warn", "no sway session found (not the kiosk session, or XDG_RUNTIME_DIR="
                 "/run/roomagent is not set): outputs, touch and windows not checked")]
    if isinstance(found, SwayError):
        return [("compositor", "fail", f"sway does not answer: {found}")]
    rows: list[Row] = [("compositor", "pass", f"sway {found.version}")]
    wanted = [("panel", profile.panel.output)] if profile.panel.output else []
    wanted += [(s.id, s.output) for s in profile.screens if s.output]
    missing = [f"{who} → {name}" for who, name in wanted if name not in found.outputs]
    listing = ", ".join(found.outputs) or "none"
    if missing:
        rows.append(("outputs", "fail", "not connected or off: " + ", ".join(missing) + f"; sway has: {listing}"))
    else:
        rows.append(("outputs", "pass", f"all configured outputs present ({listing})"))
    rows.append(_touch_row(profile, found))
    rows.append(_windows_row(profile, found))
    return rows


def _touch_row(profile: RoomProfile, found: SessionInfo) -> Row:
    target = touch_output(profile)
    mapped = _mapped_to(found.config)
    if target is None:
        return ("touch", "warn", "no output is named for the keypad: a touchscreen spans every output")
    if target not in mapped:
        where = ", ".join(sorted(mapped)) or "nothing"
        return ("touch", "fail", f"touchscreens are mapped to {where}, not to the keypad's output {target} "
                                 "(regenerate the session: roomagent kiosk-config)")
    if not found.touch_devices:
        return ("touch", "warn", f"mapped to {target}, but sway sees no touchscreen (cable? USB?)")
    return ("touch", "pass", f"{', '.join(found.touch_devices)} mapped to {target}")


def _windows_row(profile: RoomProfile, found: SessionInfo) -> Row:
    def where(window_matches: Callable[[SwayWindow], bool]) -> str | None:
        return next((w.output for w in found.windows if w.fullscreen and window_matches(w)), None)

    if not any(w.title.startswith(("roomagent ", PANEL_TITLE)) or w.app_id.startswith("roomagent-")
               for w in found.windows):
        return ("windows", "warn", "no agent window in the session (is roomagent running?)")
    wrong = []
    if profile.panel.output:
        if where(lambda w: w.title.startswith(PANEL_TITLE)) != profile.panel.output:
            wrong.append(f"panel not full screen on {profile.panel.output}")
    for screen in profile.screens:
        if not screen.output:
            continue
        output = where(lambda w, s=screen: w.title == screen_title(s.id) or w.app_id == chromium_app_id(s.id))
        if output != screen.output:
            wrong.append(f"{screen.id} not full screen on {screen.output} ({output or 'nowhere'})")
    if wrong:
        return ("windows", "fail", "; ".join(wrong))
    return ("windows", "pass", "every window full screen on its output")
