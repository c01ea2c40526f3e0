"""The local preview on a real X server, alone in a process (``python -m tests.devices.preview_child MRL``).

Qt reads ``QT_QPA_PLATFORM``/``DISPLAY`` once per process, so the Xvfb test runs this with the Xvfb
environment. It opens a ScreenWindow on the monitor LEFT with a browser session showing a plain green
page, puts the preview of ``MRL`` over it, takes screenshots with ``QScreen.grabWindow`` (VLC draws into
the native X window, which ``QWidget.grab`` cannot see), stops the preview, and prints one JSON object:
the signals seen and pixel statistics of each screenshot.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PySide6 import QtWebEngineWidgets  # noqa: F401  (before the QApplication exists)
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QLabel

from roomagent.ui.screen import ScreenWindow

#: Failure guards only: a cold Chromium start or VLC's first frame on a busy 2-core machine.
WAIT_S = 40.0
#: Between screenshots while waiting for a frame to show (a guard loop, not a measurement).
GRAB_INTERVAL_S = 0.2
PAGE = b"<!doctype html><html><body style='margin:0;background:#00c000'></body></html>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args) -> None:
        pass


def thumbnail(image: QImage) -> tuple[int, int, bytes]:
    """A 192x108 RGB copy of a screenshot: (width, height, pixels) — enough for statistics, cheap in Python."""
    small = image.scaled(192, 108).convertToFormat(QImage.Format.Format_RGB888)
    data, bpl, w = bytes(small.constBits()), small.bytesPerLine(), small.width()
    return w, small.height(), b"".join(data[y * bpl:y * bpl + w * 3] for y in range(small.height()))


def stats(thumb: tuple[int, int, bytes]) -> dict:
    """Mean and spread of the lightness, shares of dark, of saturated (vivid) and of the green test page's
    pixels, and how many distinct (coarse) colours there are."""
    pixels = thumb[2]
    light, colours, dark, vivid, green = [], set(), 0, 0, 0
    for i in range(0, len(pixels), 3):
        r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
        value = (r * 299 + g * 587 + b * 114) // 1000
        light.append(value)
        colours.add((r >> 5, g >> 5, b >> 5))
        dark += value < 40
        vivid += max(r, g, b) - min(r, g, b) > 100
        green += g > 150 and r < 60 and b < 60
    n = len(light)
    mean = sum(light) / n
    return {"mean": round(mean, 1), "spread": round((sum((v - mean) ** 2 for v in light) / n) ** 0.5, 1),
            "dark": round(dark / n, 3), "vivid": round(vivid / n, 3), "green": round(green / n, 3),
            "colours": len(colours)}


def changed(a: tuple[int, int, bytes], b: tuple[int, int, bytes]) -> float:
    """Share of pixels that differ noticeably between two thumbnails."""
    pa, pb = a[2], b[2]
    moved = sum(1 for i in range(0, len(pa), 3) if max(abs(pa[i + k] - pb[i + k]) for k in range(3)) > 24)
    return moved / (len(pa) // 3)


def is_video(s: dict) -> bool:
    """testsrc fills the window: colourful, little black, nothing of the green page."""
    return s["dark"] < 0.5 and s["colours"] > 20 and s["green"] < 0.3


def wait(app: QApplication, predicate, seconds: float = WAIT_S) -> bool:
    """Run the event loop until ``predicate()`` holds (checked on every wake-up) or the guard expires."""
    loop = QEventLoop()
    guard = QTimer(singleShot=True, interval=round(seconds * 1000))
    guard.timeout.connect(loop.quit)
    tick = QTimer(interval=round(GRAB_INTERVAL_S * 1000))
    tick.timeout.connect(lambda: predicate() and loop.quit())
    guard.start()
    tick.start()
    if not predicate():
        loop.exec()
    tick.stop()
    return bool(predicate())


def main(argv: list[str]) -> int:
    mrl = argv[1]
    shots: list[dict] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = QApplication([])
    screen = next(s for s in QGuiApplication.screens() if s.name() == "LEFT")
    window = ScreenWindow("left", "Preview room")
    window.place_on(screen)
    result: dict = {"events": []}

    def grab() -> tuple[int, int, bytes]:
        return thumbnail(screen.grabWindow(window.winId()).toImage())

    def settle(predicate) -> dict:
        """Grab until ``predicate(stats)`` holds (or the guard expires); the last statistics."""
        shots: list[dict] = []
        wait(app, lambda: shots.append(stats(grab())) or predicate(shots[-1]))
        return shots[-1]

    def start_preview():
        preview = window.show_preview(mrl)
        preview.playing.connect(lambda: result["events"].append("playing"))
        preview.error.connect(lambda message: result["events"].append(f"error:{message}"))
        preview.stopped.connect(lambda: result["events"].append("stopped"))
        return preview

    # 1. A meeting session shows a green page; the preview covers it and gives it back unchanged.
    session = window.open_session(f"http://127.0.0.1:{server.server_address[1]}/", ["127.0.0.1"], False)
    loaded: list[bool] = []
    session.loaded.connect(lambda ok, url: loaded.append(ok))
    result["session_loaded"] = wait(app, lambda: bool(loaded)) and loaded[0]
    result["before"] = settle(lambda s: s["green"] > 0.9)
    preview = start_preview()
    result["events_during_call"] = list(result["events"])
    wait(app, lambda: bool(result["events"]))
    result["preview"] = settle(is_video)
    first = grab()
    frames: list[float] = []
    wait(app, lambda: frames.append(changed(first, grab())) or frames[-1] > 0.002)
    result["frames_changed"] = round(frames[-1], 4)
    result["geometry"] = {"preview": [preview.width(), preview.height()], "window": [window.width(), window.height()]}
    # A notice stays above the preview: where it sits, the vivid colour bars give way to its dark panel.
    window.show_notice("Reconnecting…")
    inner = window.findChild(QLabel, "screen-notice").geometry().adjusted(12, 12, -12, -12)
    window.clear_notice()
    def crop():
        return stats(thumbnail(screen.grabWindow(window.winId()).toImage().copy(inner)))
    # Once the notice is gone, VLC repaints the area it uncovered with the next frame.
    shots = []
    wait(app, lambda: shots.append(crop()) or shots[-1]["vivid"] > 0.8)
    result["notice_area_without"] = shots[-1]
    window.show_notice("Reconnecting…")
    shots = []
    wait(app, lambda: shots.append(crop()) or shots[-1]["vivid"] < 0.2)
    result["notice_area_with"] = shots[-1]
    window.clear_notice()
    window.stop_preview()
    result["preview_after_stop"] = window.preview
    result["after"] = settle(lambda s: s["green"] > 0.9)

    # 2. The session closes while a preview shows: the preview stays on top; stopping it shows the idle card.
    start_preview()
    wait(app, lambda: result["events"].count("playing") == 2)
    window.close_session()
    result["preview_over_closed_session"] = settle(is_video)
    window.stop_preview()
    result["idle_after_stop"] = settle(lambda s: s["green"] < 0.01 and not is_video(s))
    result["showing_idle"] = window.showing_idle
    wait(app, lambda: result["events"].count("stopped") == 2)
    window.close()
    server.shutdown()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
