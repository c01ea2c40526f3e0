"""What the history and the alerts follow about a room, read from the live model: is it online, which
meeting is it in, which problems does it have. Pure and shared, so both name an incident the same way.

An incident is one *kind* of problem of one room, from the moment it appears until it goes away:
``offline``; ``screen:<id>`` (a screen failed or its display is missing); ``host`` (the meeting host does
not answer); ``error:<code>`` (the room reports an error); ``unreadable`` (its state breaks the contract).

While a room is offline, or online without a state yet (the dashboard has just started and the retained
``availability`` came before the ``state``), its meeting and its problems other than ``offline`` are
*unknown*: they are neither ended nor begun, so a room whose agent is restarting does not look like it
left its meeting or had its screens fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from roomagent.fleet.model import Room

OFFLINE = "offline"
SCREEN = "screen:"
HOST = "host"
#: Longest kind kept (``screen:`` + a screen id of at most 64 characters, ``error:`` + a code).
MAX_KIND = 80


@dataclass(frozen=True)
class Facts:
    """A room's availability and, when ``known``, its meeting and problems (kind → words)."""

    availability: str | None  # "online" | "offline" | None: never seen
    known: bool = False
    meeting: tuple[str, str] | None = None  # platform, host
    meeting_since: float | None = None  # as the room reports it
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def problem_map(self) -> dict[str, str]:
        """The problems by kind."""
        return dict(self.problems)


def facts_of(room: Room) -> Facts:
    """The facts of ``room`` as the model has them now."""
    snap = room.snapshot
    if room.availability != "online" or snap is None:
        return Facts(availability=room.availability)
    problems: dict[str, str] = {}
    if snap.unreadable:
        problems["unreadable"] = snap.unreadable
    if snap.error is not None:
        problems[f"error:{snap.error[0]}"[:MAX_KIND]] = f"error {snap.error[0]}: {snap.error[1]}"
    for screen in snap.screens:
        if not screen.found:
            problems[f"{SCREEN}{screen.id}"[:MAX_KIND]] = \
                f"screen {screen.id} {'failed' if screen.status == 'failed' else 'not found'}"
    if snap.reconnecting:
        problems[HOST] = "meeting host not answering"
    meeting = snap.meeting if snap.lifecycle == "in_meeting" else None
    return Facts(availability="online", known=True,
                 meeting=(meeting.platform, meeting.host) if meeting is not None else None,
                 meeting_since=meeting.since if meeting is not None else None,
                 problems=tuple(problems.items()))


def describe_kind(kind: str) -> str:
    """The words for an incident kind when its text is not at hand."""
    if kind == OFFLINE:
        return "offline"
    if kind == HOST:
        return "meeting host not answering"
    if kind.startswith(SCREEN):
        return f"screen {kind[len(SCREEN):]} failed or not found"
    return kind.replace(":", " ")
