"""The page → Python message path of a browser session (DESIGN.md §4: qwebchannel + one JSON slot).

Scripts injected by the meeting adapters call ``window.__roomagent.post({type: "...", ...})``. The
message crosses as one JSON string through a ``QWebChannel`` and arrives as a dict on
:attr:`PageBridge.message`. The page itself can call ``post`` too, so everything that arrives is
untrusted input: it is size-capped, must be a JSON object with a string ``type``, and adapters
validate the rest.
"""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QFile, QIODevice, QObject, Signal, Slot

log = logging.getLogger(__name__)

#: A message larger than this is dropped: adapters post small status objects, never documents.
MAX_MESSAGE_BYTES = 64 * 1024
#: Name under which the bridge object is published on the channel.
CHANNEL_OBJECT = "roomagent"

# Runs at document creation in the main world. Messages posted before the channel is up are queued.
# ``qt.webChannelTransport`` is installed by QtWebEngine around the same moment, so the connection is
# retried briefly rather than assumed. The API object is frozen and non-configurable so the meeting
# page cannot replace it with its own.
BOOTSTRAP_JS = r"""
(() => {
  if (window.__roomagent) { return; }
  const queue = [];
  let target = null;
  const send = (text) => { if (target) { target.post(text); } else if (queue.length < 256) { queue.push(text); } };
  const api = Object.freeze({ post: (msg) => { try { send(JSON.stringify(msg)); } catch (e) { /* not JSON-able */ } } });
  Object.defineProperty(window, "__roomagent", { value: api, writable: false, configurable: false });
  let tries = 0;
  const connect = () => {
    if (typeof qt === "undefined" || !qt.webChannelTransport || typeof QWebChannel === "undefined") {
      if (tries++ < 200) { setTimeout(connect, 25); }
      return;
    }
    new QWebChannel(qt.webChannelTransport, (channel) => {
      target = channel.objects.%(object)s;
      queue.splice(0).forEach((text) => target.post(text));
    });
  };
  connect();
})();
""".replace("%(object)s", CHANNEL_OBJECT)


def qwebchannel_js() -> str:
    """The qwebchannel.js client shipped inside Qt (a page served over http cannot load the qrc URL)."""
    source = QFile(":/qtwebchannel/qwebchannel.js")
    if not source.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("qwebchannel.js is missing from the Qt resources")
    try:
        return bytes(source.readAll().data()).decode("utf-8")
    finally:
        source.close()


def parse_message(text: str) -> dict | None:
    """The message as a dict, or None when it is oversized, not JSON, or not an object with a type."""
    if len(text) > MAX_MESSAGE_BYTES:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None
    return value


class PageBridge(QObject):
    """The object published on the page's web channel; ``message`` carries each valid posted object."""

    message = Signal(object)

    def __init__(self, session_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session_id = session_id

    @Slot(str)
    def post(self, text: str) -> None:
        """Called from the page through the channel."""
        value = parse_message(text) if isinstance(text, str) else None
        if value is None:
            log.debug("[%s] dropped a malformed page message (%d chars)", self._session_id, len(str(text)))
            return
        self.message.emit(value)
