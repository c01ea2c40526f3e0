"""A misbehaving HTTP peer on a real socket: answers canned bytes, or accepts and never answers."""

from __future__ import annotations

import socket
import ssl
import threading


class RawServer:
    """Listens on 127.0.0.1; per connection reads one request head, then sends ``reply`` (if any).

    ``reply=None`` accepts connections and keeps them open without a byte of answer (a hung server).
    ``tls`` wraps connections server-side. Use as a context manager; ``url`` is its base URL.
    """

    def __init__(self, reply: bytes | None, *, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # lets the accept loop notice _stop
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="raw-server", daemon=True)
        port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(5)
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                if self.reply is None:
                    self._held.append(conn)
                    continue
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.requests.append(head)
                conn.sendall(self.reply)
            except (OSError, ssl.SSLError):
                pass  # the client gave up (e.g. refused our certificate): what the test wants to see
            if self.reply is not None:
                conn.close()


def http_reply(body: bytes, status: str = "200 OK", headers: str = "Content-Type: application/json\r\n") -> bytes:
    """A complete HTTP/1.1 response with ``Connection: close``."""
    return f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
