"""The history's pages, added to the dashboard's app in one place: a room's history section
(``/rooms/{id}/history``, loaded into the room's page and reloaded every minute) and the fleet summary
(``/summary``). Both need a signed-in operator, like every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from roomagent.fleet.history import WEEK
from roomagent.fleet.plots import FILL
from roomagent.fleet.summary import SUMMARY_DAYS, fleet_summary, room_view


def add_history_routes(app: FastAPI, board: Any, *, operator: Callable, page: Callable, fragment: Callable,
                       room_or_404: Callable) -> None:
    """Add the history routes to ``app`` (``board`` is the running Dashboard)."""

    @app.get("/rooms/{room_id}/history", response_class=HTMLResponse)
    async def room_history(request: Request, room_id: str) -> Response:
        who = operator(request)
        room = room_or_404(room_id)
        history = board.watch.history
        view = None
        if history is not None:
            now = board.now()
            view = room_view(await history.room_record(room.id, now - WEEK), now)
        context = {"room": room, "view": view, "fill": FILL, "history_on": history is not None}
        if "hx-request" in request.headers:
            return HTMLResponse(fragment("_room_history.html", **context))
        return page(request, "room_history.html", user=who, **context)

    @app.get("/summary", response_class=HTMLResponse)
    async def summary(request: Request) -> Response:
        who = operator(request)
        history = board.watch.history
        now = board.now()
        incidents, availability = ([], {}) if history is None else \
            await history.fleet_record(now - max(SUMMARY_DAYS * 86_400, WEEK))
        return page(request, "summary.html", user=who, summary=fleet_summary(board.fleet, incidents, availability, now),
                    fill=FILL, history_on=history is not None, days=SUMMARY_DAYS)
