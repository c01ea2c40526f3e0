"""A fake Scalelite in front of the fake BigBlueButton: it redirects ``join`` to the chosen server."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from roomagent.demo.fake_bbb_control import log_routes
from roomagent.demo.fake_bbb_join import fake_checksum
from roomagent.demo.fake_bbb_state import FakeBbbState


async def _scalelite_join(request: Request) -> Response:
    state: FakeBbbState = request.app.state.fake
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "checksum"]
    # Scalelite re-signs the call with the chosen server's secret, so the checksum changes on the way.
    params.append(("checksum", fake_checksum()))
    target = f"{request.app.state.target_base}/bigbluebutton/api/join?{urlencode(params)}"
    state.record("join", meeting=request.query_params.get("meetingID"), target=target, host=request.url.netloc)
    return RedirectResponse(target, 302)


def create_scalelite_app(target_base: str) -> Starlette:
    """A fake Scalelite: ``/bigbluebutton/api/join`` answers 302 to the same call on ``target_base``.

    Its own log (``app.state.fake``, ``GET /_fake/log``, ``POST /_fake/reset``) records each redirect
    as ``{"kind": "join", "meeting", "target", "host"}``; every other path is a 404.
    """
    app = Starlette(
        routes=[
            Route("/bigbluebutton/api/join", _scalelite_join),
            *log_routes(),
        ]
    )
    app.state.fake = FakeBbbState(get_join_url=False, layout_events=(), status_poll_ms=0)
    app.state.target_base = target_base.rstrip("/")
    return app
