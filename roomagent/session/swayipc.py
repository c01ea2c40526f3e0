"""What a running sway says about its outputs, input devices and windows, through ``swaymsg``.

``swaymsg`` ships with sway, speaks its IPC protocol and prints JSON; the agent and ``roomagent doctor``
only ever read (``get_outputs``, ``get_inputs``, ``get_tree``) or place one of their own windows.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: One IPC round trip takes milliseconds; a compositor that does not answer within this is wedged.
SWAYMSG_TIMEOUT_S = 5.0


class SwayError(Exception):
    """sway cannot be asked (not running, no socket, swaymsg missing) or refused a command."""


def find_socket(environ: Mapping[str, str] | None = None) -> str | None:
    """sway's IPC socket: ``$SWAYSOCK``, else the one socket in ``$XDG_RUNTIME_DIR`` (a technician's
    shell next to the kiosk has the runtime directory but not the variable)."""
    env = os.environ if environ is None else environ
    if env.get("SWAYSOCK") and os.path.exists(env["SWAYSOCK"]):
        return env["SWAYSOCK"]
    runtime = env.get("XDG_RUNTIME_DIR")
    found = sorted(glob.glob(os.path.join(runtime, "sway-ipc.*.sock"))) if runtime else []
    return found[-1] if found else None


def swaymsg(*args: str, socket: str | None = None) -> Any:
    """Run ``swaymsg -r ARGS`` on ``socket`` (default :func:`find_socket`) and return its JSON answer."""
    path = socket or find_socket()
    if path is None:
        raise SwayError("no sway IPC socket (is the kiosk session running? SWAYSOCK / XDG_RUNTIME_DIR)")
    try:
        done = subprocess.run(["swaymsg", "-s", path, "-r", *args], capture_output=True, text=True,
                              timeout=SWAYMSG_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise SwayError("swaymsg is not installed (apt install sway)") from None
    except subprocess.TimeoutExpired:
        raise SwayError(f"sway did not answer within {SWAYMSG_TIMEOUT_S:.0f} s") from None
    try:
        answer = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        answer = None
    if done.returncode != 0:
        errors = [r.get("error", "") for r in answer if not r.get("success", True)] if isinstance(answer, list) else []
        detail = errors or (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise SwayError(f"swaymsg {' '.join(args)}: {'; '.join(detail)}")
    return answer


def run_command(command: str, socket: str | None = None) -> None:
    """Run one sway command; :class:`SwayError` when sway refuses it."""
    answer = swaymsg(command, socket=socket)
    for result in answer or []:
        if not result.get("success", False):
            raise SwayError(f"sway refused {command!r}: {result.get('error', 'no reason given')}")


@dataclass(frozen=True)
class SwayWindow:
    """One application window in sway's tree: where it is and whether it fills its output."""

    output: str
    app_id: str
    title: str
    fullscreen: bool
    focused: bool
    rect: tuple[int, int, int, int]


def windows(tree: Mapping[str, Any]) -> list[SwayWindow]:
    """Every client window of ``get_tree``'s answer, with the output it is on."""
    return list(_walk(tree, ""))


def _walk(node: Mapping[str, Any], output: str) -> Iterator[SwayWindow]:
    if node.get("type") == "output":
        output = node.get("name", "")
    if node.get("pid") and node.get("type") in ("con", "floating_con"):
        rect = node.get("rect", {})
        yield SwayWindow(output, node.get("app_id") or "", node.get("name") or "",
                         node.get("fullscreen_mode", 0) == 1, bool(node.get("focused")),
                         (rect.get("x", 0), rect.get("y", 0), rect.get("width", 0), rect.get("height", 0)))
    for child in (*node.get("nodes", ()), *node.get("floating_nodes", ())):
        yield from _walk(child, output)
