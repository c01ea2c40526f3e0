"""The real agent (``roomagent.service.run``, offscreen, windowed) with a line protocol on stdin, for the
security tests: ``python -m tests.security.room_child CONFIG``.

It prints one JSON object per line on stdout: ``{"ready": true}`` once the room is up, then one answer
per command read from stdin:

* ``labels`` — renders every QLabel of the panel and the screen windows (``QWidget.grab``: layout and
  paint, the moment rich text would load its images) and answers their object name, text, text
  format and visibility;
* ``type CODE`` — types CODE on the panel as a teacher would;
* ``state`` — the room's lifecycle and error code.

Everything else is the production agent: the real MQTT edge, the real windows, the real core.
"""

from __future__ import annotations

import json
import logging
import os
import sys


def main(argv: list[str]) -> int:
    config = argv[1]
    from PySide6.QtCore import QSocketNotifier
    from PySide6.QtWidgets import QApplication, QLabel

    from roomagent.service import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)

    def say(obj: dict) -> None:
        print(json.dumps(obj), flush=True)

    def on_started(agent) -> None:
        buffer = bytearray()

        def labels() -> dict:
            out = []
            widgets = [agent.panel, *agent.windows.values()]
            for top in widgets:
                for label in top.findChildren(QLabel):
                    label.grab()  # lays out and paints: rich text would load its <img> here
                    out.append({"owner": top.objectName(), "name": label.objectName(), "text": label.text(),
                                "format": label.textFormat().name, "visible": label.isVisibleTo(top)})
            return {"labels": out}

        def handle(line: str) -> None:
            word, _, rest = line.partition(" ")
            if word == "labels":
                say(labels())
            elif word == "type":
                for symbol in rest.strip():
                    agent.panel.type_symbol(symbol)
                say({"typed": rest.strip()})
            elif word == "state":
                err = agent.state.error
                say({"state": agent.state.lifecycle.value, "error": err.kind.value if err else None})
            else:
                say({"unknown": line})

        def on_stdin() -> None:
            data = os.read(0, 65536)
            if not data:
                notifier.setEnabled(False)
                QApplication.instance().quit()
                return
            buffer.extend(data)
            while b"\n" in buffer:
                line, _, rest = bytes(buffer).partition(b"\n")
                buffer[:] = rest
                handle(line.decode())

        notifier = QSocketNotifier(0, QSocketNotifier.Type.Read, agent)
        notifier.activated.connect(on_stdin)
        say({"ready": True, "pid": os.getpid()})

    return run(config, windowed=True, on_started=on_started)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
