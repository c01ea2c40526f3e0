"""The core's host-reachability rule: the probing cycle, the miss count, the verdicts (no Qt, no network)."""

from __future__ import annotations

import pytest

from roomagent.core import commands as cmd
from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.machine import RoomRules, initial_state, transition
from roomagent.core.reachability import MISSES_BEFORE_LOST, PROBE_EVERY_S, TIMER, visible_change
from roomagent.core.state import Lifecycle, ScreenState

JOIN_URL = "https://bbb.example.org:8443/bigbluebutton/api/join?meetingID=m42&fullName=Room&checksum=abc"
ROOT = "https://bbb.example.org:8443/"


@pytest.fixture
def room() -> Room:
    return Room(RoomRules(allowed_hosts=("bbb.example.org",), screens=(ScreenState(id="left", role="main", media=True),),
                          capabilities={"bbb": frozenset({"mute"})}))


class Room:
    """Feeds events to the core with a clock of its own; keeps the effects that are not logs."""

    def __init__(self, rules: RoomRules) -> None:
        self.rules = rules
        self.state = initial_state(rules)
        self.now = 1000.0

    def send(self, event) -> list[fx.Effect]:
        self.state, effects = transition(self.state, event, rules=self.rules, now=self.now)
        return [e for e in effects if not isinstance(e, fx.Log)]

    def join(self) -> list[fx.Effect]:
        (redeem,) = self.send(ev.CodeEntered(code="k7m 4qx 9tb"))
        self.send(ev.CodeRedeemed(attempt=redeem.attempt, join_url=JOIN_URL))
        self.send(ev.JoinPlanned(attempt=redeem.attempt, screens=("left",), capabilities=("mute",)))
        return self.send(ev.ScreenLoaded(screen="left", ok=True))

    def tick(self, watch: int) -> list[fx.Effect]:
        """The probe timer of ``watch`` runs out one period later."""
        self.now += PROBE_EVERY_S
        return self.send(ev.TimerFired(name=TIMER, attempt=watch))


def probe_timers(effects) -> list[fx.StartTimer]:
    return [e for e in effects if isinstance(e, fx.StartTimer) and e.name == TIMER]


def test_entering_a_meeting_starts_the_probe_cycle_and_one_probe_is_asked_for_at_a_time(room):
    effects = room.join()
    assert room.state.lifecycle is Lifecycle.IN_MEETING
    (timer,) = probe_timers(effects)
    assert timer.seconds == PROBE_EVERY_S
    watch = timer.attempt
    assert room.tick(watch) == [fx.ProbeHost(url=ROOT, watch=watch)]
    assert room.tick(watch) == []  # the first probe has not answered yet
    # The answer came 6 s after the probe was asked for: the next probe is due at once.
    room.now += 1.0
    effects = room.send(ev.HostProbed(reachable=True, detail="HTTP 200", watch=watch))
    assert effects == [fx.StartTimer(name=TIMER, seconds=0.0, attempt=watch)]


def test_answer_delay_is_taken_off_the_next_period(room):
    (timer,) = probe_timers(room.join())
    room.tick(timer.attempt)
    room.now += 1.0
    effects = room.send(ev.HostProbed(reachable=True, detail="HTTP 200", watch=timer.attempt))
    assert effects == [fx.StartTimer(name=TIMER, seconds=PROBE_EVERY_S - 1.0, attempt=timer.attempt)]


def test_misses_in_a_row_make_the_host_lost_and_one_answer_brings_the_room_back(room):
    (timer,) = probe_timers(room.join())
    watch = timer.attempt
    for _ in range(MISSES_BEFORE_LOST - 1):
        room.tick(watch)
        effects = room.send(ev.HostProbed(reachable=False, detail="ConnectError", watch=watch))
        assert not any(isinstance(e, fx.ShowReconnecting) for e in effects)
        assert not room.state.reconnecting
    room.tick(watch)
    effects = room.send(ev.HostProbed(reachable=False, detail="ConnectError", watch=watch))
    assert fx.ShowReconnecting(on=True) in effects and room.state.reconnecting
    assert probe_timers(effects)  # still watched while reconnecting
    assert room.state.host_watch.misses == MISSES_BEFORE_LOST
    room.tick(watch)
    effects = room.send(ev.HostProbed(reachable=True, detail="HTTP 200", watch=watch))
    assert fx.ShowReconnecting(on=False) in effects
    assert any(isinstance(e, fx.JoinMeeting) for e in effects)
    assert room.state.lifecycle is Lifecycle.JOINING and not room.state.reconnecting
    assert probe_timers(effects) == []  # joining again is not watched
    # In the meeting again: a new watch, its count starting from zero.
    (timer,) = probe_timers(room.send(ev.ScreenLoaded(screen="left", ok=True)))
    assert timer.attempt == watch + 1 and room.state.host_watch.misses == 0


def test_an_answer_between_misses_starts_the_count_again(room):
    (timer,) = probe_timers(room.join())
    watch = timer.attempt
    for reachable in [False] * (MISSES_BEFORE_LOST - 1) + [True] + [False] * (MISSES_BEFORE_LOST - 1):
        room.tick(watch)
        room.send(ev.HostProbed(reachable=reachable, watch=watch))
    assert not room.state.reconnecting
    assert room.state.host_watch.misses == MISSES_BEFORE_LOST - 1


def test_a_left_meeting_is_no_longer_probed_and_late_answers_change_nothing(room):
    (timer,) = probe_timers(room.join())
    watch = timer.attempt
    room.tick(watch)  # a probe under way
    room.send(ev.CommandReceived(command=cmd.Leave(id="x"), origin="test"))
    room.send(ev.ScreensClosed())
    assert room.state.lifecycle is Lifecycle.IDLE
    before = room.state
    assert room.send(ev.HostProbed(reachable=False, watch=watch)) == []
    assert room.tick(watch) == []
    assert room.state == before


def test_answers_and_timers_of_an_earlier_watch_are_ignored(room):
    (timer,) = probe_timers(room.join())
    room.tick(timer.attempt)
    before = room.state
    assert room.send(ev.HostProbed(reachable=False, watch=timer.attempt - 1)) == []
    assert room.send(ev.TimerFired(name=TIMER, attempt=timer.attempt + 1)) == []
    assert room.state == before


def test_probe_bookkeeping_is_not_a_visible_change_and_not_in_the_snapshot(room):
    (timer,) = probe_timers(room.join())
    before = room.state
    room.tick(timer.attempt)
    assert room.state != before and not visible_change(before, room.state)
    assert room.state.snapshot() == before.snapshot()
    room.send(ev.HostProbed(reachable=False, watch=timer.attempt))
    room.tick(timer.attempt)
    room.send(ev.HostProbed(reachable=False, watch=timer.attempt))
    assert visible_change(before, room.state)  # reconnecting is
