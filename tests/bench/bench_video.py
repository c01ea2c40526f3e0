"""Full-screen video on the room's screens, per engine, under Xvfb with two monitors. Prints, never asserts.

Run: ``.venv/bin/python -m tests.bench.bench_video [--reps 2] [--window 15] [--screens 1 2]
[--variants qtwebengine chromium chromium-kiosk]`` (or the file path).

The page (``video_media.py``) fills the viewport with a 1280x720 VP8 clip at 25 fps plus a CSS
animation and reports ``getVideoPlaybackQuality()``, its rAF and ``requestVideoFrameCallback`` counts
by HTTP once a second. Variants, each a fresh process tree, alternated rep by rep:

* ``qtwebengine`` / ``chromium`` — the real agent (``roomagent.service.run``, screens on monitors LEFT
  and RIGHT) with ``[kiosk] engine`` set so; a code is typed on its keypad and the real BigBlueButton
  adapter joins the fake BBB server, whose client pages carry the video as an overlay;
* ``qtwebengine-gpu`` — the same with ``[kiosk] rendering = "gpu"`` (the OpenGL path through llvmpipe
  here; the ``auto`` choice on this machine is ``software``);
* ``chromium-kiosk`` — the yardstick: Debian's Chromium ``--kiosk`` on ``/video``, one
  ``--user-data-dir`` per window, nothing attached.
* ``auto-user`` — as on the appliance: the agent installed in a venv built from Debian's Python
  (tests/session/session.py) running as an unprivileged user with the *default* ``[kiosk]`` settings
  (engine and rendering ``auto``) and a panel on a third monitor, so the engine is whatever ``auto``
  picks here; Chromium keeps its sandbox. ``chromium-kiosk-user`` is the yardstick as that user, with
  its sandbox. With either, Xvfb gets a third monitor PANEL.

Per variant and screen count: frames shown (total - dropped) and dropped per second in each window,
the page's rAF rate, CPU % (one core = 100) and PSS of the whole process tree, CPU milliseconds per
shown frame, and the ratios to the Chromium kiosk of the same rep. The load average is printed with
every run: the machine is shared, and a busy neighbour shows up in these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a file: make ``tests.bench`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import procstats
from tests.bench.video_media import CLIP_FPS, StatsLog, create_app, ensure_clip

HERE = Path(__file__).resolve().parent
VARIANTS = ("qtwebengine", "chromium", "chromium-kiosk")
ALL_VARIANTS = ("qtwebengine", "qtwebengine-gpu", "chromium", "chromium-kiosk", "auto-user", "chromium-kiosk-user")
MONITOR_X = (0, 1920)
#: Pages start playing within seconds; a run whose pages have not all reported by then has failed.
PAGES_TIMEOUT_S = 90.0
#: After every page reports: decoder and compositor warm up, start-up work settles.
WARMUP_S = 6.0
#: A page whose last report is older than this is gone (reloaded, closed) and not counted.
STALE_S = 3.0
CHILD_TIMEOUT_S = 90.0


# -- the agent child -----------------------------------------------------------------------------------

def agent_child(directory_url: str, code: str, screens: int, engine: str, rendering: str, log_dir: str) -> int:
    """Child side: the real agent on the Xvfb monitors; types ``code`` once the engine is warm."""
    import logging

    from roomagent.core.state import Lifecycle
    from roomagent.profile import RoomProfile
    from roomagent.service import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    outputs = ("LEFT", "RIGHT")
    # "auto": the profile's defaults, as an operator leaves them, with the panel on its own monitor.
    kiosk = {} if engine == "auto" else {"engine": engine, "rendering": rendering}
    panel = {"output": "PANEL"} if engine == "auto" else {}
    profile = RoomProfile(
        room={"id": "bench", "name": "Bench room"}, directory={"url": directory_url},
        meeting={"allowed_hosts": ["127.0.0.1"]}, kiosk=kiosk, panel=panel,
        screens=[{"id": f"s{i}", "output": outputs[i], "media": i == 0, "role": "main" if i == 0 else "side"}
                 for i in range(screens)])

    def say(**fields) -> None:
        print(json.dumps(fields), flush=True)

    def attach(agent) -> None:
        if engine == "chromium":
            _use_chromium(agent, profile, log_dir)
        say(event="engine", engine=agent.engine.engine, reason=agent.engine.reason)
        reported = []

        def on_state(state) -> None:
            if state.lifecycle is Lifecycle.IN_MEETING and not reported:
                reported.append(True)
                say(event="in_meeting", pid=os.getpid())
            elif state.error is not None:
                say(event="error", error=str(state.error))

        def type_code() -> None:
            for symbol in code.replace("-", ""):
                agent.panel.type_symbol(symbol)

        agent.state_changed.connect(on_state)
        if agent.engine_warm:
            type_code()
        else:
            agent.engine_ready.connect(type_code)

    return run(None, profile=profile, windowed=False, on_started=attach)


def _use_chromium(agent, profile, log_dir: str) -> None:
    """Give the windows the Chromium engine with ``--no-sandbox`` (the bench runs as root; an appliance
    never does). Uses the screen window's factory hook, whatever app.py wires by default."""
    from roomagent.ui.engine import session_factory
    from roomagent.ui.rendering import choose_rendering, probe_gl

    rendering = choose_rendering(profile.kiosk.rendering, probe_gl())
    factory = session_factory(profile.kiosk, rendering, no_sandbox=True, log_path=f"{log_dir}/chromium.log")
    for window in agent.windows.values():
        window._session_factory = factory


# -- the parent ------------------------------------------------------------------------------------------

class Lab:
    """Xvfb with two monitors, the page/fake-BBB server, the reference directory."""

    def __init__(self, workdir: Path, as_user: bool = False) -> None:
        from roomagent.demo.runner import start_directory
        from roomagent.serving import run_in_thread
        from tests.e2e.xvfb import Xvfb

        self.workdir = workdir
        self.xvfb = (_wide_xvfb_class() if as_user else Xvfb)().start()
        self.user = UserSide(workdir) if as_user else None
        self.stats = StatsLog()
        self.server = run_in_thread(create_app(ensure_clip(), self.stats))
        self.directory, self._token = start_directory("127.0.0.1")
        self.killed = 0

    def join_url(self) -> str:
        return (f"{self.server.url}/bigbluebutton/api/join?meetingID=bench&fullName=Bench%20room"
                f"&checksum=0123456789abcdef")

    def env(self) -> dict[str, str]:
        env = dict(self.xvfb.env, QTWEBENGINE_DISABLE_SANDBOX="1")
        env.pop("QT_QUICK_BACKEND", None)
        return env

    def start(self, variant: str, screens: int) -> list[procstats.Child | subprocess.Popen]:
        """Start ``variant`` with ``screens`` windows; returns the process(es) whose trees are measured."""
        self.stats.clear()
        if variant.startswith("chromium-kiosk"):
            procs = []
            user = variant.endswith("-user")
            for index in range(screens):
                profile_dir = self.user.dir("kiosk-") if user else tempfile.mkdtemp(prefix="bench-kiosk-",
                                                                                   dir=self.workdir)
                argv = ["chromium", "--kiosk", f"--user-data-dir={profile_dir}", "--no-first-run",
                        f"--window-position={MONITOR_X[index]},0", "--window-size=1920,1080",
                        "--autoplay-policy=no-user-gesture-required", f"{self.server.url}/video"]
                argv = self.user.argv(argv) if user else [argv[0], "--no-sandbox", *argv[1:]]
                env = self.user.env(self.env()) if user else self.env()
                with (self.workdir / "kiosk.log").open("ab") as err:
                    procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err))
            return procs
        from roomagent.demo.runner import create_code

        engine = {"chromium": "chromium", "auto-user": "auto"}.get(variant, "qtwebengine")
        rendering = "gpu" if variant.endswith("-gpu") else "auto"
        code = create_code(self.directory.url, self._token, self.join_url())
        argv = [sys.executable, str(HERE / "bench_video.py"), "--agent-child", self.directory.url, code,
                str(screens), engine, rendering, str(self.workdir)]
        env = self.env()
        if variant == "auto-user":
            argv = self.user.argv([str(self.user.python), *argv[1:]])
            env = self.user.env(env)
        child = procstats.Child(argv, self.workdir / "agent.log", env, CHILD_TIMEOUT_S)
        chosen = child.expect("engine")
        print(f"  ({variant}: engine {chosen['engine']}, because {chosen['reason']})", flush=True)
        report = child.expect("in_meeting", "error")
        if report["event"] != "in_meeting":
            child.stop()
            raise RuntimeError(f"the agent did not join: {report}")
        return [child]

    def stop(self, procs) -> None:
        for proc in procs:
            self.killed += proc.stop() if isinstance(proc, procstats.Child) else procstats.stop_tree(proc)

    def close(self) -> None:
        self.directory.stop()
        self.server.stop()
        self.xvfb.stop()


def _wide_xvfb_class():
    from tests.e2e.xvfb import Xvfb

    class WideXvfb(Xvfb):
        """LEFT and RIGHT as always, and a 960x540 PANEL monitor right of them (the screen is wider)."""

        def start(self) -> "WideXvfb":
            read_fd, write_fd = os.pipe()
            self._proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "4800x1080x24",
                                           "-noreset", "-nolisten", "tcp"], pass_fds=(write_fd,),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.close(write_fd)
            with os.fdopen(read_fd) as pipe:
                self.display = f":{pipe.readline().strip()}"
            for name, geometry, output in (("LEFT", "1920/508x1080/286+0+0", "screen"),
                                           ("RIGHT", "1920/508x1080/286+1920+0", "none"),
                                           ("PANEL", "960/254x540/143+3840+0", "none")):
                self.run("xrandr", "--setmonitor", name, geometry, output)
            return self

    return WideXvfb


class UserSide:
    """What the ``*-user`` variants need: the session user of tests/session/session.py, its venv with the
    installed agent, directories it owns, and ``setpriv`` to drop root before exec (same pid: the
    measured process tree is the program's own)."""

    def __init__(self, workdir: Path) -> None:
        from tests.session.session import agent_venv, scratch, session_user

        self.user = session_user()
        self.python = agent_venv() / "bin" / "python"
        self.home = scratch()
        os.chmod(workdir, 0o755)  # the agent child writes its Chromium log there only with engine=chromium

    def dir(self, prefix: str) -> str:
        """A fresh directory the user owns."""
        from tests.session.session import user_dir

        return str(user_dir(Path(tempfile.mkdtemp(prefix=prefix, dir=self.home)), 0o700))

    def argv(self, argv: list[str]) -> list[str]:
        """``argv`` run as the user (no supplementary groups, no capabilities)."""
        return ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                "--", *argv]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` without the root-only sandbox switch, with a home the user owns."""
        env = {k: v for k, v in base.items() if k != "QTWEBENGINE_DISABLE_SANDBOX"}
        return {**env, "HOME": str(self.home), "XDG_CACHE_HOME": str(self.home / "cache"),
                "XDG_CONFIG_HOME": str(self.home / "config"), "XDG_DATA_HOME": str(self.home / "data")}


def _pids(procs) -> list[int]:
    return [p.proc.pid if isinstance(p, procstats.Child) else p.pid for p in procs]


def _live_pages(stats: StatsLog, screens: int) -> dict[str, dict]:
    now = time.monotonic()
    pages = {k: v for k, v in stats.latest().items() if now - v["received"] < STALE_S and v["total"] > 0}
    return pages if len(pages) >= screens else {}


def measure(lab: Lab, variant: str, screens: int, window_s: float) -> dict:
    """One run: start, wait for the pages, warm up, measure over ``window_s``, stop."""
    load_before = os.getloadavg()[0]
    procs = lab.start(variant, screens)
    try:
        deadline = time.monotonic() + PAGES_TIMEOUT_S
        while not _live_pages(lab.stats, screens):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{variant}: not all {screens} page(s) reported within {PAGES_TIMEOUT_S:.0f} s")
            time.sleep(0.25)
        time.sleep(WARMUP_S)
        pids = _pids(procs)
        first, cpu0, t0 = _live_pages(lab.stats, screens), sum(procstats.tree_cpu_s(p) for p in pids), time.monotonic()
        time.sleep(window_s)
        last, cpu1, t1 = _live_pages(lab.stats, screens), sum(procstats.tree_cpu_s(p) for p in pids), time.monotonic()
        pss = sum(procstats.tree_memory_mib(p)[0] for p in pids)
    finally:
        lab.stop(procs)
    windows = []
    for page_id, b in sorted(last.items(), key=lambda kv: kv[1]["x"]):
        a = first.get(page_id)
        if a is None or b["t"] <= a["t"]:
            continue
        dt = b["t"] - a["t"]
        shown = ((b["total"] - b["dropped"]) - (a["total"] - a["dropped"])) / dt
        windows.append({"x": b["x"], "size": f"{b['w']}x{b['h']}", "shown": shown,
                        "dropped": (b["dropped"] - a["dropped"]) / dt, "raf": (b["raf"] - a["raf"]) / dt,
                        "presented": (b["presented"] - a["presented"]) / dt})
    cpu = 100 * (cpu1 - cpu0) / (t1 - t0)
    total_shown = sum(w["shown"] for w in windows)
    return {"variant": variant, "screens": screens, "windows": windows, "cpu": cpu, "pss": pss,
            "cpu_ms_per_frame": 10 * cpu / total_shown if total_shown else float("inf"),
            "load": (load_before, os.getloadavg()[0])}


def print_run(run: dict) -> None:
    cells = "  ".join(f"[{w['size']}@{w['x']}] shown {w['shown']:4.1f} drop {w['dropped']:4.1f} "
                      f"rAF {w['raf']:4.1f}" for w in run["windows"])
    print(f"  {run['variant']:16s} {run['screens']}w  cpu {run['cpu']:5.0f} %  pss {run['pss']:5.0f} MiB  "
          f"{run['cpu_ms_per_frame']:5.1f} ms/frame  load {run['load'][0]:.1f}->{run['load'][1]:.1f}  {cells}",
          flush=True)


def summarize(runs: list[dict], variants: list[str], screens: int) -> None:
    """Medians per variant and the ratios to the Chromium kiosk of the same rep."""
    print(f"\n== {screens} full-screen window(s), medians over reps (shown/dropped/rAF: the worst window; "
          f"clip {CLIP_FPS} fps)")
    print("variant            shown/s  drop/s  rAF/s  CPU %   PSS MiB  CPU ms/frame  shown vs kiosk  "
          "CPU/frame vs kiosk")
    reps = sorted({r["rep"] for r in runs})
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant and r["screens"] == screens and r["windows"]]
        if not mine:
            print(f"{variant:18s} no successful run")
            continue
        def worst(r, key):
            return min(w[key] for w in r["windows"]) if key != "dropped" else max(w[key] for w in r["windows"])
        shown_ratio, cpu_ratio = [], []
        for rep in reps:
            a = next((r for r in mine if r["rep"] == rep), None)
            yardstick = "chromium-kiosk-user" if variant.endswith("-user") and "chromium-kiosk-user" in variants \
                else "chromium-kiosk"
            k = next((r for r in runs if r["rep"] == rep and r["variant"] == yardstick
                      and r["screens"] == screens and r["windows"]), None)
            if a and k:
                shown_ratio.append(worst(a, "shown") / max(worst(k, "shown"), 1e-9))
                cpu_ratio.append(a["cpu_ms_per_frame"] / k["cpu_ms_per_frame"])
        def med(values):
            return statistics.median(values) if values else float("nan")
        print(f"{variant:18s} {med([worst(r, 'shown') for r in mine]):6.1f}  {med([worst(r, 'dropped') for r in mine]):6.1f}"
              f"  {med([worst(r, 'raf') for r in mine]):5.1f}  {med([r['cpu'] for r in mine]):5.0f}  "
              f"{med([r['pss'] for r in mine]):7.0f}  {med([r['cpu_ms_per_frame'] for r in mine]):10.1f}"
              f"  {med(shown_ratio):12.2f}  {med(cpu_ratio):14.2f}", flush=True)


def main(argv: list[str]) -> int:
    """Entry point (see the module docstring)."""
    if argv[:1] == ["--agent-child"]:
        return agent_child(argv[1], argv[2], int(argv[3]), argv[4], argv[5], argv[6])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--window", type=float, default=15.0, help="measuring window per run, seconds")
    parser.add_argument("--screens", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=ALL_VARIANTS)
    args = parser.parse_args(argv)
    missing = [tool for tool in ("Xvfb", "xrandr", "chromium", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        print(f"bench_video: skipped, missing {', '.join(missing)} (make setup installs them)")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-video-"))
    lab = Lab(workdir, as_user=any(v.endswith("-user") for v in args.variants))
    print(f"== full-screen video: {args.reps} rep(s) x {args.variants} x {args.screens} window(s), "
          f"{args.window:.0f} s each; logs in {workdir}", flush=True)
    runs: list[dict] = []
    try:
        for rep in range(args.reps):
            for screens in args.screens:
                order = args.variants if rep % 2 == 0 else list(reversed(args.variants))
                for variant in order:
                    try:
                        run = measure(lab, variant, screens, args.window)
                    except RuntimeError as exc:  # one broken run is reported, the bench goes on
                        print(f"  {variant} {screens}w rep {rep + 1} failed: {exc}", flush=True)
                        continue
                    run["rep"] = rep
                    runs.append(run)
                    print_run(run)
    finally:
        lab.close()
    for screens in args.screens:
        summarize(runs, args.variants, screens)
    if lab.killed:
        print(f"\n{lab.killed} process(es) had to be killed after a run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
