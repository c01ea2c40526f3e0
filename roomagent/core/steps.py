"""Small state steps shared by the lifecycle handlers and the command handlers."""

from __future__ import annotations

from roomagent.core import effects as fx
from roomagent.core.state import ErrorKind, Lifecycle, RoomError, RoomState, ScreenStatus


def error(kind: ErrorKind, now: float, detail: str = "", retry_at: float | None = None) -> RoomError:
    """A RoomError stamped with ``now``."""
    return RoomError(kind=kind, detail=detail, at=now, retry_at=retry_at)


def start_leaving(state: RoomState, err: RoomError | None) -> tuple[RoomState, list[fx.Effect]]:
    """Enter LEAVING: every window is closed; the edge answers with ScreensClosed."""
    new = state.model_copy(update={"lifecycle": Lifecycle.LEAVING, "error": err, "reconnecting": False})
    effects: list[fx.Effect] = [fx.CloseScreens(), fx.Log(level="info", message="leaving the meeting")]
    if state.reconnecting:
        effects.insert(0, fx.ShowReconnecting(on=False))
    return new, effects


def set_screen(state: RoomState, screen_id: str, status: ScreenStatus) -> RoomState:
    """Return ``state`` with one screen's status replaced."""
    screens = tuple(s.model_copy(update={"status": status}) if s.id == screen_id else s for s in state.screens)
    return state.model_copy(update={"screens": screens})
