"""When a Python-owned QObject is let go, its C++ side must die from the event loop, never on the spot.

A QObject made in Python without a parent (a browser session, a meeting adapter) is deleted the moment
its last Python reference goes. That moment is often inside one of its own signals: a page reports that
the meeting ended, the agent closes the sessions and forgets them, and when the handler returns the
session — with its page bridge, its browser process object and that process's socket notifiers — is
destroyed while Qt is still delivering the signal that started it all. Qt documents that as unsafe
(use ``deleteLater``); it shows up as a rare segmentation fault.

:func:`delete_later` hands such an object to Qt's deferred deletion and keeps its Python wrapper alive
until Qt has really destroyed it, so dropping references no longer matters.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject


def delete_later(obj: QObject | None) -> None:
    """Delete ``obj`` (and its children) on a later turn of the event loop. Idempotent; ignores ``None``
    and objects Qt already destroyed."""
    if obj is None or not shiboken6.isValid(obj):
        return
    # The connection holds the wrapper; Qt drops the connection, and with it the wrapper, on destruction.
    obj.destroyed.connect(lambda *_args, _keep=obj: None)
    obj.deleteLater()
