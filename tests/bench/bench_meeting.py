"""BigBlueButton in a two-screen room: join time and layout-switch latency. Prints, never asserts.

Run: ``.venv/bin/python -m tests.bench.bench_meeting [--joins 5] [--switches 10]`` (or the file path).
The reference directory and the fake BigBlueButton 3 server run as threads of this process; the agent
runs offscreen in a child process (``roomagent.service.run`` with a two-screen profile) and measures
with ``perf_counter`` inside itself:

* join: the ninth code symbol typed → ``in_meeting`` (directory redeem, BBB join redirects, two
  getJoinUrl calls, two QtWebEngine profiles loading the client). The first join of the process is
  reported apart (it pays Chromium's first page) from the later ones;
* layout: ``set_layout`` dispatched → its reply, alternately by the ui-command event in both pages
  (``SET_ENFORCED_LAYOUT``) and by reload (a new getJoinUrl per screen, the page loaded again).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

if not __package__:  # run as a file: make ``tests.bench`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

#: A child that reports nothing within this is reported as failed (generous for a slow machine).
CHILD_TIMEOUT_S = 300.0
LAYOUTS = ("discussion", "lecture")


def child(directory_url: str, codes: list[str], switches: int) -> int:
    """Child side: the real agent, driven by a probe on Qt's loop; prints one JSON line per figure."""
    import logging
    import time

    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from roomagent.core import commands as cmd
    from roomagent.core.state import Lifecycle
    from roomagent.profile import RoomProfile
    from roomagent.service import run

    logging.basicConfig(level=logging.WARNING)

    def say(**fields) -> None:
        print(json.dumps(fields), flush=True)

    class Probe(QObject):
        def attach(self, agent) -> None:
            self.agent, self.codes, self.t0, self.plan = agent, list(codes), 0.0, []
            agent.state_changed.connect(self._on_state)
            agent.remote_reply.connect(self._on_reply)
            if agent.engine_warm:
                QTimer.singleShot(0, self._join)
            else:
                agent.engine_ready.connect(self._join)

        def _join(self) -> None:
            if not self.codes:
                QApplication.quit()
                return
            symbols = self.codes.pop(0).replace("-", "")
            for symbol in symbols[:-1]:
                self.agent.panel.type_symbol(symbol)
            self.t0 = time.perf_counter()
            self.phase = "join"
            self.agent.panel.type_symbol(symbols[-1])

        def _on_state(self, state) -> None:
            if state.error is not None and self.phase == "join":
                say(event="error", error=state.error.kind.value, detail=state.error.detail)
                QApplication.quit()
            elif self.phase == "join" and state.lifecycle is Lifecycle.IN_MEETING:
                self.phase = "in_meeting"
                say(event="joined", elapsed_s=time.perf_counter() - self.t0, first=len(self.codes) == len(codes) - 1)
                # The client pages enter the meeting after their load; give them a moment before steering.
                self.plan = [("event" if i % 2 == 0 else "reload", LAYOUTS[i % 2 == 1]) for i in range(2 * switches)] \
                    if len(self.codes) == 0 else []
                QTimer.singleShot(1000, self._next_switch)
            elif self.phase == "leaving" and state.lifecycle is Lifecycle.IDLE:
                self.phase = "idle"
                QTimer.singleShot(300, self._join)

        def _next_switch(self) -> None:
            if not self.plan:
                self.phase = "leaving"
                self.agent.dispatch_command(cmd.Leave())
                return
            method, layout = self.plan.pop(0)
            self.agent.adapter.request.options["layout_method"] = method
            self.method, self.t0 = method, time.perf_counter()
            self.agent.dispatch_command(cmd.SetLayout(id="bench", layout=layout), origin="bench")

        def _on_reply(self, reply) -> None:
            if reply.command_id != "bench":
                return
            say(event="layout", method=self.method, ok=reply.ok, elapsed_s=time.perf_counter() - self.t0,
                how=(reply.data or {}).get("method"))
            QTimer.singleShot(300, self._next_switch)

    profile = RoomProfile(room={"id": "bench", "name": "Bench room"}, directory={"url": directory_url},
                          meeting={"allowed_hosts": ["127.0.0.1"]},
                          screens=[{"id": "left", "role": "main", "media": True}, {"id": "right", "role": "side"}])
    probe = Probe()
    return run(None, profile=profile, windowed=True, on_started=probe.attach)


def main() -> int:
    """Parent side: servers, codes, one child, the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=5)
    parser.add_argument("--switches", type=int, default=10, help="switches per method")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1:], args.switches)

    from roomagent.demo.fake_bbb import create_bbb_app, fake_checksum
    from roomagent.demo.runner import create_code, start_directory
    from roomagent.serving import run_in_thread

    bbb = run_in_thread(create_bbb_app())
    directory, token = start_directory("127.0.0.1")
    try:
        codes = []
        for i in range(args.joins):
            query = urlencode({"meetingID": f"bench-{i}", "fullName": "Bench room", "role": "VIEWER"})
            codes.append(create_code(directory.url, token,
                                     f"{bbb.url}/bigbluebutton/api/join?{query}&checksum={fake_checksum()}"))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
        done = subprocess.run([sys.executable, __file__, "--switches", str(args.switches), "--child",
                               directory.url, *codes], env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT_S)
    finally:
        directory.stop()
        bbb.stop()
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or any(line["event"] == "error" for line in lines):
        print(done.stdout[-2000:], done.stderr[-4000:])
        return 1
    report(lines, os.getloadavg()[0])
    return 0


def report(lines: list[dict], load: float) -> None:
    """Print the figures: medians and spreads in milliseconds, and the event/reload ratio."""
    def ms(values: list[float]) -> str:
        if not values:
            return "n/a"
        values = sorted(v * 1000 for v in values)
        p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
        return f"median {statistics.median(values):7.1f} ms  min {values[0]:7.1f}  p90 {p90:7.1f}  (n={len(values)})"

    joins = [line for line in lines if line["event"] == "joined"]
    layout = {m: [line["elapsed_s"] for line in lines if line["event"] == "layout" and line["method"] == m and line["ok"]]
              for m in ("event", "reload")}
    print(f"two-screen BigBlueButton room (fake BBB, offscreen, load average {load:.1f})")
    print(f"  code submitted -> all screens joined, first join : {ms([j['elapsed_s'] for j in joins if j['first']])}")
    print(f"  code submitted -> all screens joined, later joins: {ms([j['elapsed_s'] for j in joins if not j['first']])}")
    print(f"  set_layout by ui-command event (no reload)       : {ms(layout['event'])}")
    print(f"  set_layout by getJoinUrl + reload                : {ms(layout['reload'])}")
    if layout["event"] and layout["reload"]:
        ratio = statistics.median(layout["reload"]) / statistics.median(layout["event"])
        print(f"  reload / event (medians)                         : {ratio:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
