"""Process-wide test settings, applied before the first QApplication exists (Qt and Chromium read them
once per process): offscreen rendering, no Chromium sandbox (CI runs as root), and Chromium's fake
camera/microphone so that getUserMedia has a device once *our* permission policy grants it."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
_FAKE_MEDIA = "--use-fake-device-for-media-stream"
if _FAKE_MEDIA not in os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", ""):
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{os.environ.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {_FAKE_MEDIA}".strip()
