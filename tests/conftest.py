"""Process-wide test settings: Qt renders offscreen and Chromium may run as root (CI runs as root).

These must be set before the first QApplication exists; pytest imports this file first.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
