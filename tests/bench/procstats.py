"""Small /proc readers for the benchmarks: a process tree, its memory (PSS) and its CPU time; plus the
process plumbing around them: a child that reports JSON lines, waiting for a start-up marker, and
making sure a whole tree is gone afterwards.

Linux only. A QtWebEngine application is a tree: the Python process, then QtWebEngineProcess
children (zygote, renderers, GPU/utility processes) that are often grand-children. Every figure here
is therefore taken over the whole tree.

Processes come and go while we read; a process that vanishes between listing and reading is simply
skipped (that is what it would contribute a moment later anyway).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: How long a tree gets to exit after SIGTERM before it is killed; the agent exits within a second.
TERM_GRACE_S = 10.0
#: How long orphaned helpers get to notice their parent is gone; they take well under a second.
ORPHAN_GRACE_S = 2.0


@dataclass(frozen=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` the benchmarks need (CPU times in seconds)."""

    pid: int
    state: str  # "Z" for a zombie: dead, only waiting to be reaped
    ppid: int
    cpu_s: float  # utime + stime of the process itself (all its threads)
    children_cpu_s: float  # cutime + cstime: children that exited and were reaped by it
    start_ticks: int  # starttime, tells a reused pid from the original process


def read_stat(pid: int) -> ProcStat | None:
    """Parse ``/proc/<pid>/stat``; ``None`` if the process is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses; everything after the last ")" is regular.
    rest = raw[raw.rindex(")") + 2:].split()
    # rest[0] is field 3 (state), so field n is rest[n - 3] (proc(5) numbering).
    return ProcStat(
        pid=pid,
        state=rest[0],
        ppid=int(rest[1]),
        cpu_s=(int(rest[11]) + int(rest[12])) / CLK_TCK,
        children_cpu_s=(int(rest[13]) + int(rest[14])) / CLK_TCK,
        start_ticks=int(rest[19]),
    )


def _children_from_task_files(pid: int) -> list[int] | None:
    # /proc/<pid>/task/<tid>/children exists only with CONFIG_PROC_CHILDREN; None means "not here".
    tasks = PROC / str(pid) / "task"
    try:
        files = [t / "children" for t in tasks.iterdir()]
    except FileNotFoundError:
        return []
    if files and not files[0].exists():
        return None
    kids: list[int] = []
    for path in files:
        try:
            kids.extend(int(p) for p in path.read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return kids


def _children_by_scanning() -> dict[int, list[int]]:
    # Fallback for kernels without the children files: one pass over every process's ppid.
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat.ppid, []).append(stat.pid)
    return parents


def tree(root: int) -> list[int]:
    """``root`` and all its live descendants, parents before children."""
    first = _children_from_task_files(root)
    table = _children_by_scanning() if first is None else None
    found, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        found.append(pid)
        kids = table.get(pid, []) if table is not None else _children_from_task_files(pid) or []
        todo.extend(k for k in kids if k not in found)
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """``(PSS, USS)`` of one process in KiB, from ``smaps_rollup``; ``(0, 0)`` if it is gone or unreadable."""
    fields: dict[str, int] = {}
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            fields[name] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return fields.get("Pss", 0), fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


def tree_memory_mib(root: int) -> tuple[float, float, int]:
    """PSS and USS summed over ``root``'s tree in MiB, and how many processes were counted.

    PSS shares each shared page among all processes mapping it, so over a whole tree it is the tree's
    real footprint, as long as nothing else maps the same libraries: other QtWebEngine processes on the
    machine take their share of libQt6WebEngineCore and lower our PSS. USS (pages only we map) is the
    floor that no neighbour can change; on the appliance, where the agent is alone, PSS is the figure.
    """
    pids = tree(root)
    readings = [memory_kib(p) for p in pids]
    return sum(r[0] for r in readings) / 1024, sum(r[1] for r in readings) / 1024, len(pids)


def tree_cpu_s(root: int) -> float:
    """CPU seconds used so far by ``root``'s tree: own time of every live member plus the time of
    children each member has already reaped (cutime/cstime). Take the difference of two readings;
    a child that exits in between moves from the first term into its parent's second term."""
    total = 0.0
    for pid in tree(root):
        stat = read_stat(pid)
        if stat is not None:
            total += stat.cpu_s + stat.children_cpu_s
    return total


def tree_cpu_percent(root: int, window_s: float) -> float:
    """CPU use of ``root``'s tree over the next ``window_s`` seconds (sleeps), in % of one core."""
    before, start = tree_cpu_s(root), time.monotonic()
    time.sleep(window_s)
    return 100 * (tree_cpu_s(root) - before) / (time.monotonic() - start)


def snapshot(root: int) -> list[tuple[int, int]]:
    """``(pid, start_ticks)`` of the tree now, to kill exactly these processes later."""
    out = []
    for pid in tree(root):
        stat = read_stat(pid)
        if stat is not None:
            out.append((pid, stat.start_ticks))
    return out


def _running(pid: int, start: int) -> bool:
    # Same pid *and* start time (not a reused pid), and not a zombie (dead already; in a container
    # nobody may ever reap it).
    stat = read_stat(pid)
    return stat is not None and stat.start_ticks == start and stat.state != "Z"


def kill_leftovers(members: list[tuple[int, int]]) -> int:
    """SIGKILL every process of a :func:`snapshot` that still runs; returns how many had to be killed."""
    killed = 0
    for pid, start in members:
        if _running(pid, start):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def stop_tree(proc: subprocess.Popen, known: Iterable[tuple[int, int]] = (), grace_s: float = TERM_GRACE_S) -> int:
    """SIGTERM ``proc`` (the agent shuts down cleanly on it), wait, then SIGKILL whatever is left of its
    tree and of ``known`` (an earlier :func:`snapshot`, for helpers of a process that already exited).
    Returns the number of processes that had to be killed."""
    members = list({*known, *(snapshot(proc.pid) if proc.poll() is None else [])})
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    # Chromium helpers notice their parent's death through a pipe and exit on their own; wait a little.
    deadline = time.monotonic() + ORPHAN_GRACE_S
    while time.monotonic() < deadline and any(_running(p, t) for p, t in members if p != proc.pid):
        time.sleep(0.05)
    killed = kill_leftovers(members)
    if proc.poll() is None:
        proc.wait()
    return killed


class Child:
    """A child process that reports JSON lines on stdout and takes one-word commands on stdin.

    Its stderr goes to ``log`` (appended). :meth:`stop` leaves no process of its tree behind.
    """

    def __init__(self, argv: list[str], log: Path, env: dict[str, str], timeout_s: float) -> None:
        self.log = log
        self.timeout_s = timeout_s
        with log.open("ab") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env)
        self._buffer = b""
        self._members: set[tuple[int, int]] = set()  # every tree member seen, to clean up after exit

    def expect(self, *events: str) -> dict:
        """The next reported line; raises RuntimeError unless its ``event`` is one of ``events`` in time."""
        deadline = time.monotonic() + self.timeout_s
        fd = self.proc.stdout.fileno()
        # os.read + our own buffer: select() cannot see lines already sitting in a Python file buffer.
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError(f"no report within {self.timeout_s:.0f} s (see {self.log})")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"child exited with {self.proc.wait()} (see {self.log})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self._members.update(snapshot(self.proc.pid))
        report = json.loads(line)
        if report.get("event") not in events:
            raise RuntimeError(f"expected {events}, got {report} (see {self.log})")
        return report

    def send(self, word: str) -> None:
        """One command line on the child's stdin."""
        self.proc.stdin.write(word.encode() + b"\n")
        self.proc.stdin.flush()

    def stop(self) -> int:
        """Close stdin, SIGTERM, kill leftovers; returns how many processes had to be killed."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        killed = stop_tree(self.proc, list(self._members))
        self.proc.stdout.close()
        return killed


def wait_ready(proc: subprocess.Popen, notify: socket.socket, start: float, log_marker: bytes,
               timeout_s: float, grace_s: float) -> dict[str, float]:
    """Seconds from ``start`` (a ``perf_counter`` reading) until ``log_marker`` appeared on ``proc``'s
    stderr (key ``log``) and until ``READY=1`` arrived on the sd_notify socket ``notify`` (``notify``).

    Returns at the log line, or ``grace_s`` after it if READY=1 has not come yet, or on timeout/exit;
    a missing key means that marker never came.
    """
    marks: dict[str, float] = {}
    err, tail = proc.stderr.fileno(), b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not (
            "log" in marks and ("notify" in marks or time.perf_counter() - start > marks["log"] + grace_s)):
        for ready in select.select([err, notify], [], [], 0.05)[0]:
            now = time.perf_counter() - start
            if ready is notify:
                if b"READY=1" in notify.recv(4096):
                    marks.setdefault("notify", now)
                continue
            chunk = os.read(err, 65536)
            if not chunk:  # the process exited
                return marks
            tail = (tail + chunk)[-4096:]
            if log_marker in tail:
                marks.setdefault("log", now)
    return marks


def drain(fd: int) -> None:
    """Read ``fd`` to EOF (in a thread), so a child never blocks on a full stderr pipe nobody reads."""
    while os.read(fd, 65536):
        pass
