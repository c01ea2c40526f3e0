"""The privacy test's control: the same storage page in a QtWebEngine profile *with* a disk path, which is
what the agent must never use for a meeting (``python -m tests.appliance.disk_profile_child URL STORED_URL
DIR``). Loads the page, waits until it reports every write, then tears page and profile down (which
flushes cookies and storage to DIR) and exits."""

from __future__ import annotations

import json
import sys
import urllib.request

#: How often the page server is asked whether the page has stored everything.
POLL_S = 0.2


def main(argv: list[str]) -> int:
    url, stored_url, folder = argv[1:4]
    from PySide6 import QtWebEngineWidgets  # noqa: F401 - must precede the QApplication
    from PySide6.QtCore import QTimer, QUrl
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    from PySide6.QtWidgets import QApplication

    from tests.appliance.storage_pages import KINDS

    app = QApplication([])
    profile = QWebEngineProfile("privacy-control")
    profile.setPersistentStoragePath(f"{folder}/storage")
    profile.setCachePath(f"{folder}/cache")
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.DiskHttpCache)
    profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.ForcePersistentCookies)
    page = QWebEnginePage(profile)

    def check() -> None:
        with urllib.request.urlopen(stored_url, timeout=5) as response:
            if set(json.load(response)) >= set(KINDS):
                timer.stop()
                page.deleteLater()
                page.destroyed.connect(profile.deleteLater)
                profile.destroyed.connect(app.quit)

    timer = QTimer(interval=int(POLL_S * 1000))
    timer.timeout.connect(check)
    timer.start()
    page.load(QUrl(url))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
