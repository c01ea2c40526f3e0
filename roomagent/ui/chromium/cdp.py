"""The Chrome DevTools Protocol over ``--remote-debugging-pipe``, inside Qt's event loop.

Chromium started with ``--remote-debugging-pipe`` reads commands from its file descriptor 3 and writes
replies and events to its descriptor 4, one JSON message per NUL-terminated frame. Only the parent
that holds the other ends can talk to it: no TCP port, no socket file, nothing another user or another
machine could reach (``--remote-debugging-port`` is refused, see :mod:`.process`).

:class:`Framer` is the Qt-free framing; :class:`CdpPipe` reads with a ``QSocketNotifier`` (no thread,
no polling), writes without blocking (a full pipe parks the rest until it drains), matches replies to
callbacks by id, and emits every event with its flat-mode ``sessionId``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, Signal

log = logging.getLogger(__name__)

#: A reply callback: ``(result, None)`` on success, ``(None, error message)`` on a protocol error.
Reply = Callable[[dict[str, Any] | None, "str | None"], None]
#: One read; Chromium's frames are mostly small, a page's screenshot would be megabytes.
READ_CHUNK = 1 << 20


class Framer:
    """NUL-separated JSON frames: :meth:`feed` bytes in, whole messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The complete messages ``data`` finished; unreadable frames are logged and skipped."""
        self._buffer += data
        messages = []
        while True:
            end = self._buffer.find(b"\0")
            if end < 0:
                return messages
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            try:
                message = json.loads(frame)
            except ValueError:
                log.warning("unreadable DevTools frame (%d bytes) skipped", len(frame))
                continue
            if isinstance(message, dict):
                messages.append(message)

    @staticmethod
    def encode(message: dict[str, Any]) -> bytes:
        """One frame for ``message``."""
        return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\0"


class CdpPipe(QObject):
    """A DevTools connection over two pipe ends (ours: ``read_fd`` for replies, ``write_fd`` for commands).

    ``event(method, params, session_id)`` for every event (``session_id`` is ``""`` for the browser);
    ``closed()`` once the browser's end is gone (it exited or crashed). Commands sent after that are
    answered at once with an error.
    """

    event = Signal(str, dict, str)
    closed = Signal()

    def __init__(self, read_fd: int, write_fd: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._framer = Framer()
        self._next_id = 1
        self._pending: dict[int, Reply | None] = {}
        self._outgoing = bytearray()
        self._open = True
        self._reader = QSocketNotifier(read_fd, QSocketNotifier.Type.Read, self)
        self._reader.activated.connect(self._on_readable)
        self._writer = QSocketNotifier(write_fd, QSocketNotifier.Type.Write, self)
        self._writer.setEnabled(False)
        self._writer.activated.connect(self._on_writable)

    @property
    def is_open(self) -> bool:
        """False once the browser's end closed or :meth:`close` ran."""
        return self._open

    def send(self, method: str, params: dict[str, Any] | None = None, *, session_id: str = "",
             callback: Reply | None = None) -> int:
        """Send one command; ``callback`` gets its reply (a protocol error as the error string)."""
        if not self._open:
            if callback is not None:
                callback(None, "the browser is gone")
            return 0
        command_id = self._next_id
        self._next_id += 1
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self._pending[command_id] = callback
        self._outgoing += Framer.encode(message)
        self._flush()
        return command_id

    def close(self) -> None:
        """Stop reading and writing and close our pipe ends; pending callbacks are dropped."""
        if not self._open and self._reader is None:
            return
        self._open = False
        self._pending.clear()
        for notifier in (self._reader, self._writer):
            if notifier is not None:
                notifier.setEnabled(False)
                notifier.deleteLater()
        self._reader = self._writer = None
        for fd in (self._read_fd, self._write_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- plumbing --------------------------------------------------------------------------------

    def _flush(self) -> None:
        while self._outgoing and self._open:
            try:
                written = os.write(self._write_fd, self._outgoing)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.EINTR:
                    self._lost(f"write failed: {exc}")
                    return
                continue
            del self._outgoing[:written]
        if self._writer is not None:
            self._writer.setEnabled(bool(self._outgoing))

    def _on_writable(self) -> None:
        self._flush()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._read_fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"read failed: {exc}")
            return
        if not data:
            self._lost("the browser closed the pipe")
            return
        for message in self._framer.feed(data):
            self._dispatch(message)
            if not self._open:
                return

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            callback = self._pending.pop(message["id"], None)
            if callback is None:
                return
            error = message.get("error")
            if error:
                callback(None, str(error.get("message") or error))
            else:
                callback(message.get("result") or {}, None)
            return
        method = message.get("method")
        if isinstance(method, str):
            self.event.emit(method, message.get("params") or {}, message.get("sessionId") or "")

    def _lost(self, why: str) -> None:
        log.info("DevTools pipe closed: %s", why)
        pending = list(self._pending.values())
        self.close()
        for callback in pending:
            if callback is not None:
                callback(None, "the browser is gone")
        self.closed.emit()
