"""What the room's browser engine can decode and send: probed once on a throw-away page.

For VP8, VP9, H.264, AV1 and Opus the probe asks the engine's media stack (``canPlayType``: "probably",
"maybe" or "") and its WebRTC stack (``RTCRtpSender/RTCRtpReceiver.getCapabilities``). The result goes
into the retained ``state`` as ``codecs`` so an operator sees, e.g., that PyPI's QtWebEngine plays no
H.264 files while Debian's Chromium does (README "Screen engines").

The throw-away page is a local document under a reserved ``.invalid`` host: nothing is fetched, and a
Chromium engine's browser for it runs headless so no window flashes on a projector.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from roomagent.ui.engine import SessionFactory
    from roomagent.ui.session import ScreenSession

log = logging.getLogger(__name__)

CODECS = ("vp8", "vp9", "h264", "av1", "opus")
PROBE_URL = "https://codec-probe.invalid/"
PROBE_HTML = "<!doctype html><html><head><title>codec probe</title></head><body></body></html>"
#: A cold engine start (a Chromium process, or QtWebEngine's first profile) takes a few seconds on two
#: slow cores; past this the probe reports what it has (nothing) instead of waiting forever.
PROBE_TIMEOUT_S = 30.0

# One expression, synchronous (run_json does not await promises). canPlayType strings as the engine
# gives them; WebRTC by codec name, lower case, from the capability lists.
PROBE_JS = r"""
(() => {
  const types = {
    vp8: ["video", 'video/webm; codecs="vp8"'], vp9: ["video", 'video/webm; codecs="vp9"'],
    h264: ["video", 'video/mp4; codecs="avc1.42E01E"'], av1: ["video", 'video/mp4; codecs="av01.0.05M.08"'],
    opus: ["audio", 'audio/webm; codecs="opus"'],
  };
  const names = (cls, kind) => {
    try { return ((cls && cls.getCapabilities(kind)) || {codecs: []}).codecs.map(c => c.mimeType.split("/")[1].toLowerCase()); }
    catch (e) { return []; }
  };
  const out = {};
  for (const [name, [kind, type]] of Object.entries(types)) {
    const element = document.createElement(kind);
    const send = names(window.RTCRtpSender, kind), receive = names(window.RTCRtpReceiver, kind);
    out[name] = {play: element.canPlayType(type), webrtc_send: send.includes(name), webrtc_receive: receive.includes(name)};
  }
  return out;
})()
"""


def summarize(raw: Any) -> dict[str, dict[str, Any]]:
    """The probe's answer, reduced to the known codecs with typed fields (anything odd becomes "no")."""
    out: dict[str, dict[str, Any]] = {}
    for name in CODECS:
        entry = raw.get(name) if isinstance(raw, dict) else None
        entry = entry if isinstance(entry, dict) else {}
        play = entry.get("play")
        out[name] = {
            "play": play if play in ("probably", "maybe") else "",
            "webrtc_send": entry.get("webrtc_send") is True,
            "webrtc_receive": entry.get("webrtc_receive") is True,
        }
    return out


class CodecProbe(QObject):
    """Runs the probe once on a session made by ``factory``; ``done(dict)`` with :func:`summarize`'s
    result, or ``done({})`` when the page never answered. The session is closed afterwards."""

    done = Signal(dict)

    def __init__(self, factory: SessionFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._session: ScreenSession | None = None
        self._finished = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self._finish({}, f"no answer within {PROBE_TIMEOUT_S:.0f} s"))

    def start(self) -> None:
        """Open the throw-away page and ask it."""
        session = self._session = self._factory("codec-probe", [], False, None)
        session.loaded.connect(self._on_loaded)
        self._timer.start(int(PROBE_TIMEOUT_S * 1000))
        session.load_html(PROBE_HTML, PROBE_URL)

    def stop(self) -> None:
        """Give up (the agent is stopping): close the throw-away session now; ``done`` is not emitted."""
        self._finished = True
        self._timer.stop()
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _on_loaded(self, ok: bool, _url: str) -> None:
        if self._finished or self._session is None:
            return
        if not ok:
            self._finish({}, "the probe page did not load")
            return
        self._session.run_json(PROBE_JS, self._on_answer)

    def _on_answer(self, value: Any, error: str | None) -> None:
        if error is not None:
            self._finish({}, error)
        else:
            self._finish(summarize(value), None)

    def _finish(self, codecs: dict[str, Any], error: str | None) -> None:
        if self._finished:
            return
        self._finished = True
        self._timer.stop()
        if error:
            log.warning("codec probe failed: %s", error)
        else:
            log.info("codecs: %s", ", ".join(f"{n}(play={c['play'] or 'no'}, webrtc={c['webrtc_receive']})"
                                             for n, c in codecs.items()))
        session, self._session = self._session, None
        if session is not None:
            # Not from inside the session's own callback: close on the next turn of the loop.
            QTimer.singleShot(0, session.close)
        self.done.emit(codecs)
