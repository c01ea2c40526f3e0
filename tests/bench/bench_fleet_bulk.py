"""A bulk action on one building of N rooms. Prints figures, asserts nothing about time.

Run: ``.venv/bin/python -m tests.bench.bench_fleet_bulk [--rooms 200] [--runs 3] [--broker-extra "max_queued_messages 100\\nmax_inflight_messages 20"]``.

N simulated rooms (``tests/fleet/conftest.py``'s ``SimRoom``: a paho client each, answering every command
as the contract says) in one building on a private mosquitto; the real ``roomagent fleet`` in its own
process (``tests/fleet/scoped.py``). Timed over HTTP: the confirmation page (``GET /bulk?…``) and the
confirmed ``POST /bulk`` until its result page, i.e. N MQTT 5 requests sent at once and every reply back.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from tests.control.broker import Mosquitto
from tests.fleet.conftest import SimRoom, state
from tests.fleet.scoped import dashboard_process, settings_with, signed_in, user


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--broker-extra", default="", help='mosquitto.conf lines, e.g. "max_queued_messages 100"')
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    broker = Mosquitto(folder, extra=args.broker_extra.replace("\\n", "\n")).start()
    rooms = []
    try:
        ids = [f"b1-{i:04d}" for i in range(args.rooms)]
        began = time.monotonic()
        rooms = [SimRoom(broker.port, rid, answer=True).connect(state()) for rid in ids]
        print(f"rooms: {len(rooms)} connected in {time.monotonic() - began:.1f} s (one paho thread each)")
        settings = settings_with(folder, broker.url, [user("op", "operator")],
                                 rooms=[{"id": rid, "building": "B1"} for rid in ids], timeout_s=10)
        with dashboard_process(settings, folder, len(ids)) as base, signed_in(base, "op") as http:
            confirm, send = [], []
            for run in range(args.runs):
                t0 = time.monotonic()
                page = http.get("/bulk", params={"building": "B1", "action": "show_message",
                                                 "text": f"bench {run}", "seconds": "5"}).text
                confirm.append(time.monotonic() - t0)
                form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
                t0 = time.monotonic()
                done = http.post("/bulk", data=form).text
                send.append(time.monotonic() - t0)
                result = re.search(r'id="bulk-result">([^<]+)<', done)[1]
                print(f"run {run + 1}: confirmation {1000 * confirm[-1]:.0f} ms, sent and every reply back "
                      f"{1000 * send[-1]:.0f} ms: {result}")
            print(f"{args.rooms} rooms: confirmation page median {1000 * statistics.median(confirm):.0f} ms; "
                  f"bulk message to every room and all replies median {1000 * statistics.median(send):.0f} ms")
    finally:
        for room in rooms:
            room.close()
        broker.stop()


if __name__ == "__main__":
    main()
