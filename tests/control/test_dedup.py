"""The de-duplication of commands delivered twice (Qt-free part; the real agent: tests/security)."""

from __future__ import annotations

from roomagent.control.dedup import Arrival, RecentCommands
from roomagent.core import commands as cmd


def test_a_repeat_gets_the_first_reply_and_a_repeat_before_it_waits_for_it() -> None:
    recent = RecentCommands(clock=lambda: 0.0)
    key = RecentCommands.key(cmd.Mute(id="a"))
    assert recent.arrived(key, "route-1") == (Arrival.NEW, None)
    assert recent.arrived(key, "route-2") == (Arrival.REPEAT, None)  # the first run has not answered yet
    assert recent.answered(key, "reply") == ["route-2"]
    assert recent.arrived(key, "route-3") == (Arrival.REPEAT, "reply")


def test_same_id_other_content_is_a_duplicate_id_no_id_and_get_state_are_not_remembered() -> None:
    recent = RecentCommands(clock=lambda: 0.0)
    first, other = RecentCommands.key(cmd.Mute(id="a")), RecentCommands.key(cmd.Unmute(id="a"))
    assert first != other
    assert recent.arrived(first, "route-1") == (Arrival.NEW, None)
    assert recent.arrived(other, "route-2") == (Arrival.DUPLICATE_ID, None)
    assert recent.answered(other, "not mine") == [] and recent.answered(first, "reply") == []
    assert recent.arrived(first, "route-3") == (Arrival.REPEAT, "reply")  # the refusal changed nothing
    assert RecentCommands.key(cmd.Mute()) is None
    assert RecentCommands.key(cmd.GetState(id="s")) is None


def test_memory_is_bounded_and_old_ids_are_forgotten() -> None:
    now = [0.0]
    recent = RecentCommands(window_s=10.0, max_entries=50, clock=lambda: now[0])
    for n in range(500):
        recent.arrived(RecentCommands.key(cmd.Mute(id=f"m{n}")), "r")
    assert len(recent) == 50
    key = RecentCommands.key(cmd.Mute(id="late"))
    recent.arrived(key, "r")
    now[0] = 11.0
    assert recent.arrived(key, "r") == (Arrival.NEW, None)  # outside the window: a new command
