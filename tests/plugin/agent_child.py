"""The real room agent, offscreen, in its own process, for the plugin's end-to-end test.

``python -m tests.plugin.agent_child DIRECTORY_URL BROKER_URL SNAPSHOT_DIR`` runs ``roomagent.service.run``
with the demo's two-screen room profile (``roomagent.demo.runner.demo_profile``: id ``demo-room``) and
``QT_QPA_PLATFORM=offscreen``. Each line on stdin is a code that the child types on the room's panel, as
a teacher would (one symbol per key); end of input quits the agent cleanly.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    directory_url, broker_url, snapshots = argv[1], argv[2], argv[3]
    from PySide6.QtCore import QSocketNotifier
    from PySide6.QtWidgets import QApplication

    from roomagent.core.codes import strip_code
    from roomagent.demo.runner import demo_profile
    from roomagent.service import run

    notifiers = []

    def on_started(agent) -> None:
        notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
        notifiers.append(notifier)  # kept alive for the agent's lifetime

        def on_input() -> None:
            line = os.read(sys.stdin.fileno(), 1024).decode()
            if not line:
                notifier.setEnabled(False)
                QApplication.instance().quit()
                return
            for symbol in strip_code(line.strip()):
                agent.panel.type_symbol(symbol)

        notifier.activated.connect(on_input)
        print("agent started", flush=True)

    profile = demo_profile(directory_url, 2, broker_url)
    return run(None, profile=profile, offscreen_dir=snapshots, windowed=True, on_started=on_started)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
