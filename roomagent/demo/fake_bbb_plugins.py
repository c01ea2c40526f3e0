"""What the fake BigBlueButton adds for BBB 3 plugins (INVITE_API.md, "Fake BBB additions").

* The client page of a meeting created with ``pluginManifests`` loads them: it carries the user's and
  meeting's facts in ``window.__FAKE_BBB__`` and ``/_plugin_host/host.js`` (the host side of the SDK,
  ``bbb-plugin/host/``), which loads the manifests.
* ``/_plugin_host/*`` and ``/plugins/roomagent/*`` serve ``<plugin_dir>/host/`` and ``<plugin_dir>/dist/``.
* ``/roomagent-invite/{path}`` forwards to the invite service as production nginx does (prefix stripped,
  method, query, body, ``X-Session-Token`` and cookies), so the plugin calls it on its own origin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

if TYPE_CHECKING:
    from roomagent.demo.fake_bbb import BbbSession
    from roomagent.demo.fake_bbb_api import FakeMeeting

#: The prefix production nginx maps to the invite service (kiosk/nginx/roomagent-invite.conf).
INVITE_PREFIX = "/roomagent-invite"
DEFAULT_PLUGIN_SETTINGS = {"roomagent": {"inviteServiceUrl": INVITE_PREFIX}}
#: nginx's client_max_body_size in the shipped snippet; bigger bodies are refused before forwarding.
PROXY_MAX_BODY = 64 * 1024
_FORWARDED = ("content-type", "x-session-token", "cookie", "accept", "accept-language")
_RETURNED = ("content-type", "retry-after", "cache-control")


def plugin_head(session: BbbSession, meeting: FakeMeeting, settings: dict[str, Any]) -> str:
    """The markup a plugin-enabled client page carries for ``session`` (before the plugins load)."""
    facts = {
        "sessionToken": session.token,
        "meetingId": meeting.internal_id,
        "meetingName": meeting.name,
        "userId": session.user_id,
        "userName": session.full_name,
        "role": session.role,
        "presenter": session.presenter,
        "pluginManifests": list(meeting.plugin_manifests),
        "pluginSettings": settings,
    }
    data = json.dumps(facts).replace("<", "\\u003c")
    return (
        '<div id="bbb-plugin-host"></div>\n'
        f"<script>window.__FAKE_BBB__ = {data};</script>\n"
        '<script src="/_plugin_host/host.js"></script>\n'
    )


async def _proxy(request: Request) -> Response:
    base = request.app.state.invite_base
    if not base:
        return JSONResponse({"error": {"code": "not_configured", "message": "no invite service behind this proxy"}},
                            status_code=502)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > PROXY_MAX_BODY:
        return Response("Request Entity Too Large", status_code=413)
    body = await request.body()
    headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
    url = f"{base.rstrip('/')}/{request.path_params['path']}"
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.request(request.method, url, params=request.query_params, content=body,
                                          headers=headers)
    except httpx.HTTPError:
        return Response("Bad Gateway", status_code=502)
    return Response(answer.content, status_code=answer.status_code,
                    headers={k: v for k, v in answer.headers.items() if k in _RETURNED})


def plugin_routes(plugin_dir: Path | None) -> list[BaseRoute]:
    """The proxy, and the plugin files when ``plugin_dir`` is given."""
    routes: list[BaseRoute] = [
        Route(INVITE_PREFIX + "/{path:path}", _proxy, methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
    ]
    if plugin_dir is not None:
        routes += [
            Mount("/_plugin_host", StaticFiles(directory=Path(plugin_dir) / "host", check_dir=False)),
            Mount("/plugins/roomagent", StaticFiles(directory=Path(plugin_dir) / "dist", check_dir=False)),
        ]
    return routes
