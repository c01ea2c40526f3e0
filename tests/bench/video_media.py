"""The full-screen video page of ``bench_video.py``: its clip, the page itself and the server that
collects what each window reports.

* :func:`ensure_clip` encodes a 1280x720 VP8 clip at 25 fps with ffmpeg (a moving test pattern, so
  every frame differs and no decoder can skip work), cached under ``/tmp`` keyed by its parameters.
* :data:`PAGE` fills the viewport with the looping, muted, autoplaying video plus a CSS animation,
  counts ``requestAnimationFrame`` callbacks and ``requestVideoFrameCallback`` presentations, and
  POSTs ``getVideoPlaybackQuality()`` with those counters to ``/stats`` every second. Reporting by
  HTTP (and not by a debugging protocol or a script bridge) keeps both engines exactly as they run in
  a room: nothing is attached to the bare Chromium kiosk.
* :func:`create_app` serves page, clip and the stats collector (a Starlette app for
  ``roomagent.serving.run_in_thread``).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

CLIP_FPS = 25
CLIP_SIZE = (1280, 720)
#: Long enough that a measuring window never spans the loop point (a seek costs a few frames).
CLIP_SECONDS = 60
CLIP_BITRATE = "2M"  # what a 720p camera stream of a meeting carries, roughly
CACHE_DIR = Path("/tmp/roomagent-bench-video")
#: ffmpeg encodes 60 s of 720p VP8 in well under a minute on 2 cores; the cap only guards a hang.
ENCODE_TIMEOUT_S = 600

# The video, the spinner and the reporting script: the whole /video page, and what the bench lays over
# the fake BigBlueButton client so the agent's real join flow opens it (fixed, above everything).
SNIPPET = """
<style id="bench-style">
  #bench-video { position: fixed; inset: 0; width: 100vw; height: 100vh; object-fit: fill; z-index: 2147483646;
                 background: #000; }
  #bench-spin { position: fixed; right: 4vw; top: 4vh; width: 12vh; height: 12vh; border-radius: 2vh;
                background: #ffd166; animation: bench-spin 2s linear infinite; z-index: 2147483647; }
  @keyframes bench-spin { to { transform: rotate(360deg); } }
</style>
<video id="bench-video" src="/clip.webm" autoplay muted loop playsinline></video>
<div id="bench-spin"></div>
<script>
(() => {
  const id = Math.random().toString(36).slice(2, 10);
  const video = document.getElementById("bench-video");
  // Out of <body>: a client page that re-renders its body would detach (and so pause) the video.
  document.head.append(document.getElementById("bench-style"));
  document.documentElement.append(video, document.getElementById("bench-spin"));
  let raf = 0, presented = 0, seq = 0;
  const tick = () => { raf++; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  if (video.requestVideoFrameCallback) {
    const onFrame = () => { presented++; video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
  }
  // "?native": the clip at its own size, unscaled (the control for what scaling costs).
  if (location.search.includes("native")) { video.style.width = "1280px"; video.style.height = "720px"; }
  // "?pixelated": nearest-neighbour scaling (what the compositor's cheapest filter costs).
  if (location.search.includes("pixelated")) { video.style.imageRendering = "pixelated"; }
  video.play().catch(() => {});
  setInterval(() => {
    const q = video.getVideoPlaybackQuality();
    const body = JSON.stringify({
      id, seq: seq++, t: performance.now() / 1000, raf, presented,
      total: q.totalVideoFrames, dropped: q.droppedVideoFrames, time: video.currentTime,
      paused: video.paused, x: window.screenX, w: window.innerWidth, h: window.innerHeight,
      hidden: document.hidden, href: location.pathname,
    });
    fetch("/stats", {method: "POST", body, keepalive: true}).catch(() => {});
  }, 1000);
})();
</script>
"""

PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>video bench</title>"
        "<style>html, body { margin: 0; height: 100%; background: #000; overflow: hidden; }</style></head>"
        "<body>" + SNIPPET + "</body></html>")


def ensure_clip() -> Path:
    """The cached test clip, encoded now if it is not there yet."""
    w, h = CLIP_SIZE
    path = CACHE_DIR / f"clip-vp8-{w}x{h}-{CLIP_FPS}fps-{CLIP_SECONDS}s-{CLIP_BITRATE}.webm"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.webm")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={CLIP_FPS}",
         "-t", str(CLIP_SECONDS), "-c:v", "libvpx", "-b:v", CLIP_BITRATE, "-deadline", "realtime",
         "-cpu-used", "8", "-g", str(CLIP_FPS * 2), "-an", str(partial)],
        check=True, timeout=ENCODE_TIMEOUT_S,
    )
    partial.rename(path)
    return path


class StatsLog:
    """Reports posted by the pages (uvicorn's thread writes, the bench reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: list[dict[str, Any]] = []

    def add(self, report: dict[str, Any]) -> None:
        report["received"] = time.monotonic()
        with self._lock:
            self._reports.append(report)

    def clear(self) -> None:
        with self._lock:
            self._reports.clear()

    def latest(self) -> dict[str, dict[str, Any]]:
        """The newest report of each page (by its random id)."""
        with self._lock:
            out: dict[str, dict[str, Any]] = {}
            for report in self._reports:
                out[report["id"]] = report
            return out


def create_app(clip: Path, stats: StatsLog) -> Starlette:
    """Page at ``/video``, clip at ``/clip.webm``, reports at ``POST /stats``; everything else is the fake
    BigBlueButton server, whose client pages (``/html5client/join``) carry the video as an overlay."""
    from roomagent.demo.fake_bbb import create_bbb_app

    async def page(_request: Request) -> Response:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})

    async def media(_request: Request) -> Response:
        return FileResponse(clip, media_type="video/webm")

    async def collect(request: Request) -> Response:
        try:
            report = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"ok": False}, status_code=400)
        if isinstance(report, dict) and isinstance(report.get("id"), str):
            stats.add(report)
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/video", page), Route("/clip.webm", media), Route("/stats", collect, methods=["POST"]),
        Mount("/", app=OverlayClient(create_bbb_app())),
    ])


class OverlayClient:
    """ASGI wrapper: the fake BBB client page gets :data:`SNIPPET` before its ``</body>``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").endswith("/html5client/join"):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                held["start"] = message
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            html = bytes(body).replace(b"</body>", SNIPPET.encode() + b"</body>", 1)
            start = dict(held["start"])
            start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            start["headers"].append((b"content-length", str(len(html)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, capture)
