"""The de-duplication of commands delivered twice (Qt-free part; the real agent: tests/security)."""

from __future__ import annotations

from roomagent.control.dedup import RecentCommands
from roomagent.core import commands as cmd


def test_a_repeat_gets_the_first_reply_and_a_repeat_before_it_waits_for_it() -> None:
    recent = RecentCommands(clock=lambda: 0.0)
    key = RecentCommands.key(cmd.Mute(id="a"))
    assert recent.arrived(key, "route-1") == (True, None)
    assert recent.arrived(key, "route-2") == (False, None)  # the first run has not answered yet
    assert recent.answered(key, "reply") == ["route-2"]
    assert recent.arrived(key, "route-3") == (False, "reply")


def test_same_id_other_content_no_id_and_get_state_are_not_repeats() -> None:
    assert RecentCommands.key(cmd.Mute(id="a")) != RecentCommands.key(cmd.Unmute(id="a"))
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
    assert recent.arrived(key, "r") == (True, None)  # outside the window: a new command
