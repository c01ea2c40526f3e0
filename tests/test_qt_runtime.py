"""The Qt binding the agent runs on must not leak references when Python emits a signal.

PySide6 6.12.0 on CPython 3.11 returns ``True`` from ``SignalInstance.emit()`` without taking a
reference: every emit lowers ``True``'s count by one until the interpreter aborts ("Fatal Python error:
bool_dealloc") — a kiosk would die after a few thousand state changes. pyproject pins PySide6 below it.
"""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(bool)
    plain = Signal()


def test_emit_keeps_the_reference_count_of_true(qapp):
    emitter = _Emitter()
    emitter.ping.connect(lambda value: None)
    emitter.plain.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.ping.emit(True)
        emitter.plain.emit()
    assert sys.getrefcount(True) >= before - 100  # other threads may hold a few transiently
