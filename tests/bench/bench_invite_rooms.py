"""``GET /room`` of the invite service with silent rooms. Prints figures, asserts nothing about time.

Run: ``.venv/bin/python -m tests.bench.bench_invite_rooms [--rooms 3] [--relay-timeout 10]``. The real
invite service, the fake BigBlueButton, the reference directory with its relay on a private mosquitto,
and ``--rooms`` stand-in rooms that redeem their codes and then never answer. One moderator's ``GET /room``
is timed: refreshing the rooms one after another takes one relay timeout per silent room; at once, one.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a file: make ``tests`` and ``roomagent`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--relay-timeout", type=float, default=10.0, help="the directory's relay_timeout_s")
    args = parser.parse_args()

    from tests.control.broker import Mosquitto
    from tests.invite.room import InvitedRoom
    from tests.invite.world import World

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp)).start()
        world = World(broker.url, directory_overrides={"relay_timeout_s": args.relay_timeout},
                      limits={"invites_per_minute": max(6, args.rooms)})
        rooms: list[InvitedRoom] = []
        try:
            meeting = "bench-" + secrets.token_hex(3)
            world.bbb.create(meeting)
            teacher = world.bbb.join(meeting, "Prof. Ada", "MODERATOR")
            for _ in range(args.rooms):
                invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json()
                room = InvitedRoom(broker.url, answer="silent").__enter__()
                rooms.append(room)
                room.redeem(world.directory.url, invite["code"])
            world.http.timeout = args.relay_timeout * (args.rooms + 2)  # room for the old, serial behaviour
            began = time.monotonic()
            answer = world.call("GET", "/room", teacher)
            took = time.monotonic() - began
            codes = [(r.get("error") or {}).get("code") for r in answer.json().get("rooms", [])]
            print(f"GET /room with {args.rooms} silent room(s), relay timeout {args.relay_timeout:g} s: "
                  f"HTTP {answer.status_code} after {took:.2f} s; rooms reported: {codes}")
            print(f"the directory relayed at most {world.recorder.overlapping('POST', '/meeting/command')} "
                  "get_state command(s) at the same time")
        finally:
            for room in rooms:
                room.__exit__(None, None, None)
            world.stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
