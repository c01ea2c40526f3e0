"""The real agent (``roomagent.service.run``, offscreen) playing one meeting, for the privacy test:
``python -m tests.appliance.meeting_child CONFIG CODE STORED_URL SHOTS``.

Types CODE on the panel as a teacher would, waits until the meeting page reports every storage write at
STORED_URL, leaves, waits until every browser profile of the meeting is destroyed, and quits. Prints
``left`` once the room is idle again. The parent decides pass or fail by what is left on disk.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request

#: How often the page server is asked whether the page has stored everything (a loopback GET).
POLL_S = 0.2


def main(argv: list[str]) -> int:
    config, code, stored_url, shots = argv[1:5]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from roomagent.core import commands as cmd
    from roomagent.core.codes import strip_code
    from roomagent.core.state import Lifecycle
    from roomagent.service import run
    from tests.appliance.storage_pages import KINDS

    destroyed: list[str] = []

    class _Destroyed(logging.Handler):
        # The screen sessions log "profile destroyed" from the profile's own destroyed signal.
        def emit(self, record: logging.LogRecord) -> None:
            if "profile destroyed" in record.getMessage():
                destroyed.append(record.getMessage())

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().addHandler(_Destroyed())

    def on_started(agent) -> None:
        seen: set[str] = set()
        poll = QTimer(agent)
        poll.setInterval(int(POLL_S * 1000))

        def check_stored() -> None:
            with urllib.request.urlopen(stored_url, timeout=5) as response:
                reported = set(json.load(response))
            if reported >= set(KINDS):
                poll.stop()
                print("stored", flush=True)
                agent.dispatch_command(cmd.Leave())

        def on_state(state) -> None:
            seen.add(state.lifecycle.value)
            if state.lifecycle is Lifecycle.IN_MEETING and not poll.isActive() and "left" not in seen:
                poll.start()
            if state.lifecycle is Lifecycle.IDLE and Lifecycle.LEAVING.value in seen and "left" not in seen:
                seen.add("left")
                print("left", flush=True)
                wait_destroyed()

        def wait_destroyed() -> None:
            if destroyed:
                QApplication.instance().quit()
            else:
                QTimer.singleShot(int(POLL_S * 1000), agent, wait_destroyed)

        poll.timeout.connect(check_stored)
        agent.state_changed.connect(on_state)
        QTimer.singleShot(0, agent, lambda: [agent.panel.type_symbol(c) for c in strip_code(code)])

    return run(config, offscreen_dir=shots, windowed=True, on_started=on_started)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
