"""A private mosquitto for ``roomagent demo``: loopback only, anonymous, on a free port, gone afterwards."""

from __future__ import annotations

import getpass
import logging
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from roomagent.serving import free_port

log = logging.getLogger(__name__)

#: mosquitto prints this once it accepts connections; reading its log for it avoids polling the port.
_RUNNING = " running"
#: A guard only: mosquitto starts in ~20 ms here (DESIGN.md §5).
START_TIMEOUT_S = 10.0


class LocalBroker:
    """``start()`` runs mosquitto on 127.0.0.1:<free port>; ``url`` is ``mqtt://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "LocalBroker":
        """Start mosquitto and return once it runs; ``RuntimeError`` when it cannot."""
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self._dir = tempfile.TemporaryDirectory(prefix="roomagent-demo-broker-")
        self.port = free_port()
        conf = Path(self._dir.name) / "mosquitto.conf"
        # "user": started as root, mosquitto would switch to user mosquitto and lose access to this folder.
        conf.write_text(f"listener {self.port} 127.0.0.1\nuser {getpass.getuser()}\nallow_anonymous true\n"
                        "persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
                        "log_type notice\nlog_type information\n")
        self._proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.PIPE, text=True)
        timer = None
        try:
            timer = threading.Timer(START_TIMEOUT_S, self._proc.kill)
            timer.start()
            for line in self._proc.stderr:  # ends when mosquitto exits (or the guard kills it)
                if _RUNNING in line:
                    # Keep reading its log, or a full pipe would one day stall the broker.
                    threading.Thread(target=self._drain, name="mosquitto-log", daemon=True).start()
                    return self
            raise RuntimeError("mosquitto did not start")
        finally:
            if timer is not None:
                timer.cancel()

    def _drain(self) -> None:
        for line in self._proc.stderr:
            log.debug("mosquitto: %s", line.rstrip())

    def stop(self) -> None:
        """Stop mosquitto and remove its folder."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._dir is not None:
            self._dir.cleanup()
