"""delete_later: a let-go QObject dies from the event loop, never on the spot."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject

from roomagent.ui.lifetime import delete_later


def test_an_object_let_go_after_delete_later_lives_until_the_event_loop_turns(qtbot) -> None:
    obj = QObject()
    destroyed: list[bool] = []
    obj.destroyed.connect(lambda *_: destroyed.append(True))
    delete_later(obj)
    del obj
    gc.collect()
    assert destroyed == []  # a plain deleteLater() would have been overtaken by the refcount here
    qtbot.waitUntil(lambda: destroyed == [True], timeout=5_000)


def test_delete_later_ignores_none_and_dead_objects(qtbot) -> None:
    import shiboken6

    obj = QObject()
    shiboken6.delete(obj)
    delete_later(obj)
    delete_later(None)
