"""The geometry of the history's plots, drawn as SVG by the templates (``_plot.html``): a room's timeline
(availability, meetings, problems over a day or a week) and stacked columns (meetings per day, incidents per
day). Pure functions of the data and the times given; no clock, no I/O.

Times are placed in the server's local time zone: days begin at local midnight, as operators count them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

#: The drawing's coordinate system (the page scales it to its width).
WIDTH = 760
LEFT = 78  # room for the row labels
RIGHT = 10
ROW_H = 16
#: The colours of the parts, as SVG fill attributes (the CSP allows no inline styles).
FILL = {"online": "#2e9e55", "offline": "#c8372d", "unknown": "#c9cdd3", "meeting": "#1f5fbf",
        "problem": "#d38b00", "other": "#7a7f87", "screen": "#d38b00", "host": "#8a4fbf", "error": "#a3341f"}


@dataclass(frozen=True)
class Rect:
    """One coloured box with its tooltip."""

    x: float
    y: float
    w: float
    h: float
    part: str  # a key of FILL
    title: str


@dataclass(frozen=True)
class Tick:
    """A label on the time axis."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything a template needs to draw one plot."""

    height: float
    rows: list[tuple[float, str]]  # y of the row's middle, its label
    rects: list[Rect]
    ticks: list[Tick]
    label: str  # what the plot shows, in words (aria-label)
    width: float = WIDTH
    axis_y: float = 0.0


def local_midnight(ts: float) -> float:
    """The start of ``ts``'s day in local time."""
    t = time.localtime(ts)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def day_starts(end: float, days: int) -> list[float]:
    """Local midnights of the last ``days`` days up to ``end`` (oldest first; the last is today's)."""
    starts = [local_midnight(end)]
    for _ in range(days - 1):
        starts.insert(0, local_midnight(starts[0] - 3600))  # an hour before midnight is yesterday, DST or not
    return starts


def _hhmm(ts: float) -> str:
    return time.strftime("%d %b %H:%M", time.localtime(ts))


def timeline(availability: list[tuple[float, str]], meetings: list[tuple[str, str, float, float | None]],
             incidents: list[tuple[str, str, float, float | None]], start: float, end: float,
             what: str) -> Chart:
    """A room's availability, meetings and problems (not counting "offline") from ``start`` to ``end``."""
    span = end - start
    inner = WIDTH - LEFT - RIGHT

    def x(ts: float) -> float:
        return LEFT + inner * (min(max(ts, start), end) - start) / span

    rows = [(4 + ROW_H / 2, "availability"), (24 + ROW_H / 2, "meetings"), (44 + ROW_H / 2, "problems")]
    rects: list[Rect] = []
    online = known = 0.0
    for i, (at, value) in enumerate(availability):
        until = availability[i + 1][0] if i + 1 < len(availability) else end
        if until <= start or at >= end:
            continue
        part = value if value in ("online", "offline") else "unknown"
        rects.append(Rect(x(at), 4, max(x(until) - x(at), 0.5), ROW_H, part,
                          f"{part} {_hhmm(max(at, start))} – {_hhmm(min(until, end))}"))
        if part != "unknown":
            seconds = min(until, end) - max(at, start)
            known += seconds
            online += seconds if part == "online" else 0
    for platform, host, started, ended in meetings:
        stop = ended if ended is not None else end
        if stop <= start or started >= end:
            continue
        rects.append(Rect(x(started), 24, max(x(stop) - x(started), 1.0), ROW_H, "meeting",
                          f"meeting on {platform} {host}: {_hhmm(started)} – "
                          f"{_hhmm(ended) if ended is not None else 'now'}"))
    for kind, text, started, ended in incidents:
        stop = ended if ended is not None else end
        if kind == "offline" or stop <= start or started >= end:
            continue
        rects.append(Rect(x(started), 44, max(x(stop) - x(started), 1.5), ROW_H, "problem",
                          f"{text}: {_hhmm(started)} – {_hhmm(ended) if ended is not None else 'now'}"))
    ticks = _ticks(start, end, x)
    share = f"online {100 * online / known:.1f}% of the known time" if known else "availability not known"
    count = sum(1 for r in rects if r.part == "meeting")
    return Chart(height=84, rows=rows, rects=rects, ticks=ticks, axis_y=64,
                 label=f"{what}: {share}, {count} meeting{'s' if count != 1 else ''}")


def _ticks(start: float, end: float, x) -> list[Tick]:
    if end - start > 2 * 86_400:
        return [Tick(x(day), time.strftime("%a %d", time.localtime(day))) for day in day_starts(end, 8) if day >= start]
    step = 3 * 3600
    first = local_midnight(start)
    ticks = []
    at = first
    while at <= end:
        if at >= start:
            ticks.append(Tick(x(at), time.strftime("%H:%M", time.localtime(at))))
        at += step
    return ticks


def columns(values: list[tuple[str, dict[str, int]]], what: str, height: float = 120) -> Chart:
    """Stacked columns, one per label (a day), parts by kind; a count above the tallest."""
    inner = WIDTH - LEFT - RIGHT
    n = max(len(values), 1)
    slot = inner / n
    top = max([sum(parts.values()) for _, parts in values] + [1])
    plot_h = height - 24
    rects: list[Rect] = []
    ticks: list[Tick] = []
    for i, (label, parts) in enumerate(values):
        x0 = LEFT + i * slot + slot * 0.15
        y = plot_h
        for part, count in sorted(parts.items()):
            if count <= 0:
                continue
            h = (plot_h - 14) * count / top  # 14: room for the "max" label above the tallest
            y -= h
            rects.append(Rect(x0, y, slot * 0.7, h, part if part in FILL else "other", f"{label}: {count} {part}"))
        ticks.append(Tick(LEFT + i * slot + slot / 2, label))
    total = sum(sum(p.values()) for _, p in values)
    return Chart(height=height, rows=[(8, f"max {top}")], rects=rects, ticks=ticks, axis_y=plot_h + 4,
                 label=f"{what}: {total} in all")
