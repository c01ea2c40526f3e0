"""Bulk actions: show a message on, or reload, every room of one building, in two steps.

``GET /bulk`` offers the buildings the operator may act on; ``GET /bulk?building=…&action=…`` is the
confirmation page (which rooms, how many, which of them are offline); ``POST /bulk`` (the session's CSRF
token, the room ids the confirmation page showed) sends the command to each of those rooms through the
same path as a single action (:func:`roomagent.fleet.web.create_app`'s ``_act``: MQTT 5 request, reply,
one audit line per room) and then writes one audit line for the bulk action, its id shared by all.

A room's building is its ``[[rooms]] building`` in ``fleet.toml``; the set of rooms of a building changes
only with the configuration, so a confirmation naming other rooms than the building has now is stale.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from roomagent.control.parse import describe_error
from roomagent.core.commands import COMMAND
from roomagent.fleet.access import Principal, csrf_ok
from roomagent.fleet.model import Room

if TYPE_CHECKING:  # web imports this module
    from roomagent.fleet.web import Dashboard

log = logging.getLogger("roomagent.fleet")

#: The actions offered for a whole building, in the command contract's names.
BULK_ACTIONS = {"show_message": "Show a message", "reload": "Reload every screen"}
#: Longest building name / action name taken from a request (longer ones are no building anyway).
_MAX_FIELD = 120

Act = Callable[..., Awaitable[dict]]


@dataclass(frozen=True)
class Plan:
    """A checked bulk action: what goes to which rooms."""

    building: str
    action: str
    fields: dict[str, str]  # the form fields the single-room action reads (text, seconds)
    rooms: list[Room]

    @property
    def label(self) -> str:
        """The action in words."""
        return BULK_ACTIONS[self.action]

    @property
    def room_ids(self) -> str:
        """The rooms as the confirmation form carries them."""
        return " ".join(r.id for r in self.rooms)

    def request(self) -> dict:
        """What the bulk audit line records as the request."""
        return {"building": self.building, "action": self.action, **self.fields, "rooms": [r.id for r in self.rooms]}


def rooms_of(board: Dashboard, building: str) -> list[Room]:
    """The rooms of ``building``, by id."""
    return sorted((r for r in board.fleet.rooms.values() if r.building == building), key=lambda r: r.id)


def plan(board: Dashboard, me: Principal, values: dict[str, str]) -> tuple[Plan | None, str, int]:
    """Check a bulk request: (the plan, "", 200) or (None, why not in the operator's words, HTTP status)."""
    building = values.get("building", "").strip()[:_MAX_FIELD]
    action = values.get("action", "").strip()[:_MAX_FIELD]
    known = board.settings.buildings()
    if building not in known:
        return None, f"There is no building {building!r} in the dashboard's list of rooms.", 400
    if not me.may_act_in(building):
        return None, me.why_not(building), 403
    if action not in BULK_ACTIONS:
        return None, f"{action!r} is not a bulk action (choose: {', '.join(BULK_ACTIONS.values())}).", 400
    fields: dict[str, str] = {}
    if action == "show_message":
        fields["text"] = values.get("text", "").strip()
        if values.get("seconds", "").strip():
            fields["seconds"] = values["seconds"].strip()
    # The same check the single-room action makes, once, so nothing is sent to any room when it fails.
    try:
        COMMAND.validate_python({"id": "fleet-bulk-check", "action": action, **fields})
    except ValidationError as exc:
        return None, f"Not sent: {describe_error(exc)}", 400
    return Plan(building, action, fields, rooms_of(board, building)), "", 200


def add_bulk_routes(app: FastAPI, board: Dashboard, *, page: Callable[..., HTMLResponse],
                    operator: Callable[[Request], str], act: Act) -> None:
    """Add ``GET /bulk`` and ``POST /bulk`` to the dashboard; ``act`` is its single-room action."""

    def choices(me: Principal) -> list[tuple[str, int]]:
        return [(b, len(rooms_of(board, b))) for b in sorted(board.settings.buildings()) if me.may_act_in(b)]

    def form_page(request: Request, who: str, me: Principal, values: dict, error: str = "", status: int = 200):
        return page(request, "bulk.html", status=status, user=who, buildings=choices(me), bulk_actions=BULK_ACTIONS,
                    values=values, error=error)

    @app.get("/bulk", response_class=HTMLResponse)
    async def bulk_form(request: Request) -> Response:
        who = operator(request)
        me = board.auth.principal(who)
        if not me.can_act:
            return page(request, "message.html", status=403, user=who, title="Bulk actions",
                        message=me.why_not(""))
        values = {k: str(v) for k, v in request.query_params.items()}
        if not values.get("building") and not values.get("action"):
            return form_page(request, who, me, values)
        checked, error, status = plan(board, me, values)
        if checked is None:
            return form_page(request, who, me, values, error, status)
        return page(request, "bulk_confirm.html", user=who, plan=checked, note="")

    @app.post("/bulk", response_class=HTMLResponse)
    async def bulk_send(request: Request) -> Response:
        who = operator(request)
        me = board.auth.principal(who)
        peer = request.client.host if request.client else None
        form = await request.form()
        values = {k: str(v) for k, v in form.items()}
        what = f"bulk {values.get('action', '')[:40]}".strip()
        building = values.get("building", "")[:_MAX_FIELD]
        # The role and the buildings first, as for a single room: refused and audited whatever else is sent.
        if not me.may_act_in(building):
            why = me.why_not(building)
            board.audit.write(who=who, what=what, request={"building": building}, outcome="refused", why=why, peer=peer)
            log.warning("%s: %s in %r refused: %s", who, what, building, why)
            return JSONResponse({"detail": why}, status_code=403)
        if not csrf_ok(request.session.get("csrf"), values.get("csrf")):
            return JSONResponse({"detail": "missing or wrong CSRF token"}, status_code=403)
        checked, error, status = plan(board, me, values)
        if checked is None:
            board.audit.write(who=who, what=what, request={"building": building}, outcome="refused", why=error,
                              peer=peer)
            return form_page(request, who, me, values, error, status)
        if values.get("rooms", "").split() != [r.id for r in checked.rooms]:
            # The list changed with the configuration since the confirmation page was drawn.
            return page(request, "bulk_confirm.html", status=409, user=who, plan=checked,
                        note="The rooms of this building have changed since you confirmed. Check the list again.")
        bulk_id = f"bulk-{secrets.token_hex(6)}"
        results = await asyncio.gather(*(act(who, room, checked.action, dict(checked.fields), peer, bulk=bulk_id)
                                         for room in checked.rooms))
        outcomes = {room.id: result["outcome"] for room, result in zip(checked.rooms, results, strict=True)}
        summary = ", ".join(f"{n} {outcome}" for outcome, n in Counter(outcomes.values()).most_common())
        board.audit.write(who=who, what=f"bulk {checked.action}", request=checked.request(), reply=outcomes,
                          outcome=summary, bulk=bulk_id, peer=peer)
        log.info("%s: bulk %s in %s (%d rooms) -> %s", who, checked.action, checked.building, len(checked.rooms),
                 summary)
        rows: list[tuple[Room, dict[str, Any]]] = list(zip(checked.rooms, results, strict=True))
        return page(request, "bulk_done.html", user=who, plan=checked, rows=rows, summary=summary)
