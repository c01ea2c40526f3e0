"""Process-wide test settings, applied before the first QApplication exists (Qt and Chromium read them
once per process): offscreen rendering, no Chromium sandbox (CI runs as root), and Chromium's fake
camera/microphone so that getUserMedia has a device once *our* permission policy grants it."""

import gc
import os

import pytest

#: The fake meeting servers' fixtures (bbb_server, jitsi_server, ...) for every test directory.
pytest_plugins = ("tests.demo.fixtures",)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
_FAKE_MEDIA = "--use-fake-device-for-media-stream"
if _FAKE_MEDIA not in os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", ""):
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{os.environ.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {_FAKE_MEDIA}".strip()


@pytest.fixture(autouse=True)
def _qt_objects_die_between_tests():
    """After each test, run Qt's pending deferred deletions and Python's cycle collector, so that what
    a test left behind (windows, sessions, adapters of a stopped agent) is destroyed here, between
    tests, and not by a garbage collection that happens to run inside some later test's Qt callback.

    What survives is then frozen (``gc.freeze``): the collector never scans it again, so each of these
    collections only looks at what one test made (a full collection of everything a long run holds
    costs ~0.3 s a test).
    """
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    app = QCoreApplication.instance()
    for _ in range(3 if app is not None else 0):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    for _ in range(3 if app is not None else 0):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.freeze()
