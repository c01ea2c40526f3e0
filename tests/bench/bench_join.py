"""Join latency, start-up time, memory and idle CPU of the kiosk agent, offscreen. Prints, never asserts.

Run: ``.venv/bin/python -m tests.bench.bench_join [--reps 5] [--cpu-window 30]`` (or the file path).
Every measurement runs in a fresh process, so each one pays Chromium's start-up the same way:

* join: an in-process agent (``roomagent.app.run`` with a profile of 1, 2 or 3 screens, windowed) is
  timed from the code leaving the keypad to the room reaching ``in_meeting`` (every window loaded),
  alternating with ``bare_views.py``, which loads the same URL in one plain off-the-record view (a
  generic link opens one window, on the media screen; bench_meeting.py measures two BBB sessions);
* start-up: ``python -m roomagent run --config room.toml`` from ``Popen`` to the "ready" log line (and
  to systemd's ``READY=1`` on ``NOTIFY_SOCKET``, if the agent sends it);
* memory: PSS of the whole process tree, idle / in the meeting / after leaving, beside the bare views;
* CPU: the whole tree's CPU time over a window, idle (the real process) and in a 2-screen meeting.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if not __package__:  # run as a file: make ``tests.bench`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import procstats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCREEN_COUNTS = (1, 2, 3)
#: A process that neither reports nor exits within this is reported as failed (generous for slow CI).
CHILD_TIMEOUT_S = 60.0
#: Pause before memory/CPU readings so start-up and page-load work has died down.
SETTLE_S = 2.0
#: After the "ready" log line, how long READY=1 may still arrive to count as sent at the same point.
NOTIFY_GRACE_S = 0.3
AUTOPLAY_FLAG = "--autoplay-policy=no-user-gesture-required"  # what roomagent.app adds; bare gets it too
READY_LOG = b" ready: "  # "room <id> ready: N screen(s)", logged right after the panel is shown


def agent_child(directory_url: str, code: str, screens: int) -> int:
    """Child side (``--agent-child``): the real composition root with ``screens`` windows, driven by stdin.

    Prints ``{"event": "ready"}`` once the keypad has painted, types ``code`` on ``join``, prints
    ``{"event": "in_meeting", "elapsed_s": ...}``, leaves on ``leave``, exits on ``quit``/EOF/SIGTERM.
    """
    import logging

    from PySide6.QtCore import QEvent, QObject, QSocketNotifier
    from PySide6.QtWidgets import QApplication

    from roomagent.core import commands as cmd
    from roomagent.core.state import Lifecycle
    from roomagent.profile import RoomProfile
    from roomagent.service import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def say(**fields) -> None:
        print(json.dumps(fields), flush=True)

    class Probe(QObject):
        """Watches the agent from outside: the panel's first paint, lifecycle changes, stdin commands."""

        def attach(self, agent) -> None:
            self.agent, self.t0, self.phases, self.submitted, self.reported = agent, 0.0, {}, False, False
            agent.panel.installEventFilter(self)
            agent.panel.code_submitted.connect(lambda _code: setattr(self, "submitted", True))
            agent.state_changed.connect(self._on_state)
            self.stdin = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read, self)
            self.stdin.activated.connect(self._on_stdin)

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.agent.panel.removeEventFilter(self)
                say(event="ready", pid=os.getpid())
            return False

        def _on_stdin(self) -> None:
            for word in os.read(sys.stdin.fileno(), 4096).decode().split() or ["quit"]:
                if word == "join" and not self.agent.engine_warm:
                    # A teacher needs seconds for nine symbols; the engine warm-up needs ~0.2 s.
                    self.agent.engine_ready.connect(lambda: self._type_code())
                elif word == "join":
                    self._type_code()
                elif word == "leave":
                    self.agent.dispatch_command(cmd.Leave())
                else:
                    QApplication.quit()

        def _type_code(self) -> None:
            symbols = code.replace("-", "")
            for symbol in symbols[:-1]:
                self.agent.panel.type_symbol(symbol)
            self.t0 = time.perf_counter()  # the ninth symbol emits code_submitted synchronously
            self.agent.panel.type_symbol(symbols[-1])

        def _on_state(self, state) -> None:
            name = state.lifecycle.value
            if self.t0 and name not in self.phases:
                self.phases[name] = time.perf_counter() - self.t0
            if state.error is not None:
                say(event="error", error=state.error.kind.value, detail=state.error.detail)
            elif state.lifecycle is Lifecycle.IN_MEETING and not self.reported:
                self.reported = True
                say(event="in_meeting", elapsed_s=self.phases[name], submitted=self.submitted,
                    phases=dict(self.phases), screens=[s.status.value for s in state.screens])
            elif state.lifecycle is Lifecycle.IDLE and self.reported:
                say(event="idle")

    profile = RoomProfile(room={"id": "bench", "name": "Bench room"}, directory={"url": directory_url},
                          meeting={"allowed_hosts": ["127.0.0.1"]},
                          screens=[{"id": f"screen{i}", "media": i == 0} for i in range(screens)])
    probe = Probe()  # kept referenced while Qt's loop runs inside run()
    return run(None, profile=profile, windowed=True, on_started=probe.attach)


def child_env() -> dict[str, str]:
    """Offscreen, sandbox off (we run as root), and identical Chromium flags for agent and bare."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    flags = env.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if "--autoplay-policy" not in flags:
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} {AUTOPLAY_FLAG}".strip()
    return env


class Lab:
    """The reference directory and the demo meeting server (threads of this process), and child spawning."""

    def __init__(self, workdir: Path) -> None:
        from roomagent.demo import meeting_server
        from roomagent.demo.runner import start_directory
        from roomagent.serving import run_in_thread

        self.workdir = workdir
        self.meeting = run_in_thread(meeting_server.create_app())
        self.directory, self._token = start_directory("127.0.0.1")
        self.join_url = f"{self.meeting.url}/meeting/bench"
        self.killed = 0  # processes that survived SIGTERM: should stay 0

    @contextmanager
    def _spawn(self, argv: list[str], log: str) -> Iterator[procstats.Child]:
        child = procstats.Child([sys.executable, *argv], self.workdir / log, child_env(), CHILD_TIMEOUT_S)
        try:
            yield child
        finally:
            self.killed += child.stop()

    @contextmanager
    def agent(self, screens: int) -> Iterator[procstats.Child]:
        """An agent child holding a fresh code, once it reported ``ready`` (keypad painted)."""
        from roomagent.demo.runner import create_code

        code = create_code(self.directory.url, self._token, self.join_url)
        argv = [str(HERE / "bench_join.py"), "--agent-child", self.directory.url, code, str(screens)]
        with self._spawn(argv, "agent.log") as child:
            child.expect("ready")
            yield child

    def bare(self, screens: int, *flags: str):
        """A bare-views child (it starts loading at once); a context manager like :meth:`agent`."""
        return self._spawn([str(HERE / "bare_views.py"), self.join_url, str(screens), *flags], "bare.log")

    def close(self) -> None:
        """Stop both servers."""
        self.directory.stop()
        self.meeting.stop()


def fmt_ms(values: list[float]) -> str:
    """``median / min`` in milliseconds, or ``failed``."""
    return f"{statistics.median(values) * 1000:6.0f} / {min(values) * 1000:4.0f}" if values else "   failed   "


def join_agent_once(lab: Lab, screens: int) -> dict | None:
    """One agent join; its report (``elapsed_s``, ``phases``) or ``None`` if it did not get in."""
    with lab.agent(screens) as child:
        child.send("join")
        report = child.expect("in_meeting", "error")
    return report if report["event"] == "in_meeting" and report["submitted"] else None


def join_bare_once(lab: Lab, screens: int, *flags: str) -> float | None:
    """One bare-views load; seconds, or ``None`` if a view failed to load."""
    with lab.bare(screens, *flags) as child:
        report = child.expect("loaded")
    return report["elapsed_s"] if report["ok"] else None


def bench_join_latency(lab: Lab, reps: int) -> None:
    """Agent vs bare (and bare-cold) join latency, alternating who goes first, a fresh process each time."""
    print(f"\n== join latency: code submitted -> every window loaded ({reps} runs each, ms)", flush=True)
    print("   (the demo's generic link opens one window, on the media screen, whatever the room's screen count;\n"
          "    bare = one plain view; the two-screen BigBlueButton join is measured by bench_meeting.py)")
    print("screens  agent med / min   bare med / min   agent/bare   bare-cold med / min   agent phases (med ms)")
    for screens in SCREEN_COUNTS:
        runs: dict[str, list] = {"agent": [], "bare": [], "cold": []}
        for rep in range(reps):
            order = ["agent", "bare"] if rep % 2 == 0 else ["bare", "agent"]
            for side in [*order, "cold"]:
                try:
                    if side == "agent":
                        result = join_agent_once(lab, screens)
                    else:
                        result = join_bare_once(lab, 1, *(["--cold"] if side == "cold" else []))
                except RuntimeError as exc:  # one broken run is reported, the bench goes on
                    print(f"  {screens} screen(s), {side} run {rep + 1} failed: {exc}", flush=True)
                    continue
                if result is not None:
                    runs[side].append(result)
        agent = [r["elapsed_s"] for r in runs["agent"]]
        bare = runs["bare"]
        ratio = f"{statistics.median(agent) / statistics.median(bare):5.2f}" if agent and bare else "  n/a"
        phases = {name: statistics.median(r["phases"][name] for r in runs["agent"]) for name in
                  (runs["agent"][0]["phases"] if runs["agent"] else {})}
        phase_text = ", ".join(f"{name} {at * 1000:.0f}" for name, at in phases.items())
        print(f"{screens:7d}   {fmt_ms(agent)}     {fmt_ms(bare)}        {ratio}        {fmt_ms(runs['cold'])}"
              f"        {phase_text}", flush=True)


def bench_memory(lab: Lab, cpu_window_s: float) -> None:
    """PSS of the agent tree idle / in meeting / after leave, beside bare views; meeting CPU for 2 screens."""
    print("\n== memory of the whole process tree: PSS / USS in MiB [processes]", flush=True)
    print("screens  agent idle        agent meeting     agent after leave   bare views loaded")
    meeting_cpu = None
    for screens in SCREEN_COUNTS:
        with lab.agent(screens) as child:
            time.sleep(SETTLE_S)
            idle = procstats.tree_memory_mib(child.proc.pid)
            child.send("join")
            child.expect("in_meeting")
            time.sleep(SETTLE_S)
            meeting = procstats.tree_memory_mib(child.proc.pid)
            if screens == 2:
                meeting_cpu = procstats.tree_cpu_percent(child.proc.pid, cpu_window_s)
            child.send("leave")
            child.expect("idle")
            time.sleep(SETTLE_S)
            left = procstats.tree_memory_mib(child.proc.pid)
        with lab.bare(1, "--hold") as child:  # the agent shows a generic link in one window
            child.expect("loaded")
            time.sleep(SETTLE_S)
            bare = procstats.tree_memory_mib(child.proc.pid)
        cells = [f"{pss:4.0f} / {uss:3.0f} [{count}]" for pss, uss, count in (idle, meeting, left, bare)]
        print(f"{screens:7d}  {cells[0]}    {cells[1]}    {cells[2]}      {cells[3]}", flush=True)
    if meeting_cpu is not None:
        print(f"\n== CPU in a 2-screen meeting (static demo page), whole tree over {cpu_window_s:.0f} s: "
              f"{meeting_cpu:.1f} % of one core", flush=True)


def bench_startup(workdir: Path, runs: int, cpu_window_s: float) -> None:
    """``roomagent run`` from Popen to ready, ``runs`` times; the last run stays up for the idle figures."""
    config = workdir / "room.toml"
    config.write_text('[room]\nid = "bench"\nname = "Bench room"\n[directory]\nurl = "http://127.0.0.1:9"\n'
                      '[meeting]\nallowed_hosts = ["127.0.0.1"]\n[[screens]]\nid = "left"\nmedia = true\n'
                      '[[screens]]\nid = "right"\n')
    print(f"\n== start-up: python -m roomagent run (2 screens, offscreen) -> keypad shown, {runs} runs", flush=True)
    times: dict[str, list[float]] = {"log": [], "notify": []}
    exits: list[float] = []
    for run in range(runs):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(workdir / f"notify-{run}.sock"))
            # As systemd would start it (Type=notify), plus offscreen; the agent adds its own Chromium flags.
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1",
                       NOTIFY_SOCKET=notify.getsockname())
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "roomagent", "run", "--config", str(config)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    env=env, cwd=ROOT)
            drainer = threading.Thread(target=procstats.drain, args=(proc.stderr.fileno(),), daemon=True)
            try:
                marks = procstats.wait_ready(proc, notify, start, READY_LOG, CHILD_TIMEOUT_S, NOTIFY_GRACE_S)
                drainer.start()
                for name, value in marks.items():
                    times[name].append(value)
                if "log" in marks and run == runs - 1:
                    time.sleep(SETTLE_S)
                    pss, uss, count = procstats.tree_memory_mib(proc.pid)
                    print(f"  idle memory of the real process tree: PSS {pss:.0f} MiB, USS {uss:.0f} MiB"
                          f" ({count} process(es))")
                    idle_cpu = procstats.tree_cpu_percent(proc.pid, cpu_window_s)
                    print(f"  idle CPU, whole tree over {cpu_window_s:.0f} s: {idle_cpu:.2f} % of one core")
            finally:
                t_term = time.perf_counter()
                killed = procstats.stop_tree(proc)
                exits.append(time.perf_counter() - t_term)
                if drainer.is_alive():
                    drainer.join(5)
                proc.stderr.close()
        if killed or proc.returncode != 0 or "log" not in marks:
            print(f"  run {run + 1}: exit status {proc.returncode}, {killed} killed, markers {sorted(marks)}")
    for name, label in (("log", "'ready' log line"), ("notify", "sd_notify READY=1")):
        values = times[name]
        print(f"  Popen -> {label}: " + (f"median {statistics.median(values) * 1000:.0f} ms, min "
              f"{min(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms" if values else "not received"))
    print(f"  SIGTERM -> exit (whole tree): median {statistics.median(exits) * 1000:.0f} ms", flush=True)


def main() -> int:
    """Be an agent child, or run every benchmark; a broken section is reported and the rest still runs."""
    if len(sys.argv) == 5 and sys.argv[1] == "--agent-child":
        return agent_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="join runs per case and side (default 5)")
    parser.add_argument("--cpu-window", type=float, default=30.0, help="seconds per CPU reading (default 30)")
    parser.add_argument("--startup-runs", type=int, default=5, help="start-up runs (default 5)")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-join-") as tmp:
        workdir = Path(tmp)
        load = Path("/proc/loadavg").read_text().split()[0]  # other work on the machine skews every figure
        print(f"bench_join: {os.cpu_count()} CPU(s), load {load}, offscreen, child logs in {workdir} (removed after)")
        lab = Lab(workdir)
        try:
            for section in (lambda: bench_startup(workdir, args.startup_runs, args.cpu_window),
                            lambda: bench_memory(lab, args.cpu_window), lambda: bench_join_latency(lab, args.reps)):
                try:
                    section()
                except Exception as exc:  # noqa: BLE001 - a bench reports and goes on, it never fails
                    print(f"  section failed: {exc!r}", flush=True)
        finally:
            lab.close()
        print(f"\nprocesses killed after SIGTERM: {lab.killed}; bench time {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
