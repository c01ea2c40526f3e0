"""Is the meeting host still there? The core's rule; the edge only runs the probes it asks for.

While the room is in a meeting (or waiting for its host to come back) the core watches the host: a
``StartTimer(name="host_probe")`` cycle asks for one ``ProbeHost`` every :data:`PROBE_EVERY_S`, the edge
answers each with ``HostProbed``. :data:`MISSES_BEFORE_LOST` misses in a row make the host lost, one
answer makes it reachable; either verdict is a ``HostReachability`` event, which ``machine`` decides on
(the "Reconnecting…" notice, the rejoin). The bookkeeping is ``RoomState.host_watch``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.state import HostWatch, Lifecycle, RoomState

#: One probe this often while in a meeting; two misses in a row make the host "lost" (~10 s), which is
#: longer than the blips the meeting clients ride out themselves and short enough for a teacher to notice.
PROBE_EVERY_S = 5.0
MISSES_BEFORE_LOST = 2
#: The name of the probing cycle's timer (``StartTimer.name``; its ``attempt`` is the watch's number).
TIMER = "host_probe"

Result = tuple[RoomState, list[fx.Effect]]
#: The machine's decision on a verdict (``machine._on_host_reachability``).
Decide = Callable[[RoomState, ev.HostReachability], Result]


def host_root(join_url: str) -> str:
    """``scheme://host:port/`` of a join link: what is probed."""
    parts = urlsplit(join_url)
    return f"{parts.scheme}://{parts.netloc}/"


def watching(state: RoomState) -> bool:
    """Whether the host is watched: in a meeting, or waiting for the host to come back."""
    return state.meeting is not None and (state.lifecycle is Lifecycle.IN_MEETING or state.reconnecting)


def follow(before: RoomState, after: RoomState, effects: list[fx.Effect]) -> Result:
    """Start or end the watch when a transition enters or leaves a watched state (run after each one).

    A new watch starts with no misses and its first probe one period later; an ended one forgets its
    misses, and its timers and late probe results are ignored by number.
    """
    was, now = watching(before), watching(after)
    if was == now:
        return after, effects
    number = after.host_watch.number + (1 if now else 0)
    after = after.model_copy(update={"host_watch": HostWatch(number=number)})
    if now:
        effects = [*effects, fx.StartTimer(name=TIMER, seconds=PROBE_EVERY_S, attempt=number)]
    return after, effects


def on_timer(state: RoomState, event: ev.TimerFired, now: float) -> Result:
    """The period is over: ask for a probe (unless the watch ended or one is still under way)."""
    watch = state.host_watch
    if not watching(state) or event.attempt != watch.number or watch.sent_at is not None:
        return state, [fx.Log(level="debug", message=f"ignored: host probe timer of watch {event.attempt}")]
    assert state.meeting is not None
    new = state.model_copy(update={"host_watch": watch.model_copy(update={"sent_at": now})})
    return new, [fx.ProbeHost(url=host_root(state.meeting.join_url), watch=watch.number)]


def on_probed(state: RoomState, event: ev.HostProbed, now: float, decide: Decide) -> Result:
    """Count a probe's answer; a verdict goes to ``decide``; the next probe is due one period after this one."""
    watch = state.host_watch
    if not watching(state) or event.watch != watch.number or watch.sent_at is None:
        return state, [fx.Log(level="debug", message=f"ignored: host probe result of watch {event.watch}")]
    misses = 0 if event.reachable else watch.misses + 1
    new = state.model_copy(update={"host_watch": HostWatch(number=watch.number, misses=misses)})
    effects: list[fx.Effect] = []
    if event.reachable or misses >= MISSES_BEFORE_LOST:
        new, effects = decide(new, ev.HostReachability(reachable=event.reachable, detail=event.detail))
    if watching(new) and new.host_watch.number == watch.number:
        wait = max(0.0, PROBE_EVERY_S - (now - watch.sent_at))
        effects = [*effects, fx.StartTimer(name=TIMER, seconds=wait, attempt=watch.number)]
    return new, effects


def visible_change(before: RoomState, after: RoomState) -> bool:
    """Whether ``after`` differs from ``before`` in more than the watch's bookkeeping (worth a render)."""
    return after.model_copy(update={"host_watch": before.host_watch}) != before
