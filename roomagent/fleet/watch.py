"""What follows the rooms besides the live view: the history (``[history]``) and the alerts (``[alerts]``),
each off when its section is absent. The dashboard calls :meth:`Watchers.observe` after every change of a
room, on its event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from roomagent.fleet.alert_senders import senders_for
from roomagent.fleet.alerts import Alerts
from roomagent.fleet.config import FleetSettings
from roomagent.fleet.history import History
from roomagent.fleet.history_db import HistoryError
from roomagent.fleet.model import Room

log = logging.getLogger("roomagent.fleet")

#: How often the alert rules are checked and due messages sent.
TICK_S = 1.0


class Watchers:
    """The history and the alerts of one dashboard."""

    def __init__(self, settings: FleetSettings, clock: Callable[[], float] = time.time) -> None:
        self.now = clock
        self.history = History(settings.history.database, settings.history.retention_days, clock) \
            if settings.history is not None else None
        self.alerts = Alerts(settings.alerts, senders_for(settings.alerts), on_alerted=self._alerted) \
            if settings.alerts is not None else None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Open the history (reading back what was going on) and start checking the alert rules."""
        if self.history is not None:
            try:
                opened = await asyncio.to_thread(self.history.start)
            except HistoryError as exc:
                # The dashboard does not start without its history (it would record nothing); a failure, so
                # systemd tries again later (a database server that is still starting).
                log.error("history: %s", exc)
                raise
            if self.alerts is not None:
                self.alerts.seed(opened)
        if self.alerts is not None:
            self._task = asyncio.create_task(self._tick_loop(), name="fleet-alerts")

    async def stop(self) -> None:
        """Stop the alert checks; write what the history still has queued and close it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.history is not None:
            self.history.finish()
            await asyncio.to_thread(self.history.join)

    def observe(self, room: Room, now: float) -> None:
        """``room`` changed: record it and check the rules."""
        if self.history is not None:
            self.history.observe(room, now)
        if self.alerts is not None:
            self.alerts.observe(room, now)

    def _alerted(self, room: str, kind: str, now: float) -> None:
        if self.history is not None:
            self.history.alerted(room, kind, now)

    async def _tick_loop(self) -> None:
        while True:
            try:
                await self.alerts.tick(self.now())
            except Exception:  # a bug in one check must not end alerting for good
                log.exception("alerts: the check failed")
            await asyncio.sleep(TICK_S)
