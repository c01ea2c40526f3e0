"""What the fake BigBlueButton adds for BBB 3 plugins (INVITE_API.md, "Fake BBB additions").

* Server-side plugin loading, as upstream: the manifests of a meeting's ``pluginManifests`` are fetched
  and judged by the server (``bbb_manifest.parse_manifest``, per the fake's generation), once per
  meeting, and every outcome is logged (``plugin_load`` records with ``loadFailureReason``). The client
  page asks ``/_plugin_host/plugins`` for the stored rows, as BBB's client asks GraphQL for its
  ``plugin`` table, and loads only the accepted ones: the browser never sees a manifest.
* The client page of such a meeting carries the user's and meeting's facts in ``window.__FAKE_BBB__``
  and ``/_plugin_host/host.js`` (the host side of the SDK, ``bbb-plugin/host/``).
* ``/_plugin_host/*`` and ``/plugins/roomagent/*`` serve ``<plugin_dir>/host/`` and ``<plugin_dir>/dist/``.
* ``/roomagent-invite/{path}`` forwards to the invite service as production nginx does (prefix stripped,
  method, query, body, ``X-Session-Token`` and cookies), so the plugin calls it on its own origin.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from roomagent.demo.bbb_manifest import PluginLoad, fetch_failure, parse_manifest

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
#: Where the client page reads its meeting's plugin rows (the fake's stand-in for GraphQL ``plugin``).
PLUGINS_PATH = "/_plugin_host/plugins"
#: bbb-web refuses manifests it cannot read quickly; a plugin manifest is a few hundred bytes.
MANIFEST_MAX_BYTES = 64 * 1024
MANIFEST_TIMEOUT_S = 10.0


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
        # Not the manifests: the page gets the rows the server stored, as the real client does.
        "pluginsUrl": PLUGINS_PATH,
        "pluginSettings": settings,
    }
    data = json.dumps(facts).replace("<", "\\u003c")
    return (
        '<div id="bbb-plugin-host"></div>\n'
        f"<script>window.__FAKE_BBB__ = {data};</script>\n"
        '<script src="/_plugin_host/host.js"></script>\n'
    )


async def _fetch_one(client: httpx.AsyncClient, url: str) -> tuple[Any, str | None]:
    """The manifest's JSON at ``url``, or why it could not be had."""
    if not url.startswith(("http://", "https://")):
        return None, "not an http(s) URL"
    try:
        answer = await client.get(url)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}"
    if answer.status_code != 200:
        return None, f"HTTP {answer.status_code}"
    if len(answer.content) > MANIFEST_MAX_BYTES:
        return None, "the manifest is too large"
    try:
        return answer.json(), None
    except ValueError:
        return None, "the manifest is not JSON"


async def load_meeting_plugins(request: Request, meeting: FakeMeeting) -> list[PluginLoad]:
    """Fetch and judge ``meeting``'s manifests as this server's generation does; logged per manifest."""
    state = request.app.state.fake
    settings = request.app.state.plugin_settings or {}
    loads: list[PluginLoad] = []
    async with httpx.AsyncClient(timeout=MANIFEST_TIMEOUT_S, follow_redirects=False) as client:
        for url in meeting.plugin_manifests:
            content, why = await _fetch_one(client, url)
            if why is not None:
                load = fetch_failure(url, why)
            else:
                name = content.get("name") if isinstance(content, dict) else None
                load = parse_manifest(url, content, state.generation, settings.get(name) or {})
            state.record("plugin_load", meeting=meeting.meeting_id, manifest=url, name=load.name, ok=load.ok,
                         loadFailureReason=load.load_failure_reason, generation=state.generation.name)
            loads.append(load)
    return loads


async def meeting_plugins(request: Request, meeting: FakeMeeting) -> list[PluginLoad]:
    """``meeting``'s plugin outcomes, loaded on the first call for this meeting (concurrent callers share
    it). Upstream loads at ``create``; here the first client page's request does, unless ``create`` calls
    this first."""
    # Per app, not per module: every fake server keeps its own outcomes (one event loop, so no lock).
    cache: dict[tuple[str, int], asyncio.Future] | None = getattr(request.app.state, "plugin_loads", None)
    if cache is None:
        cache = request.app.state.plugin_loads = {}
    key = (meeting.meeting_id, meeting.create_time)
    if key not in cache:
        cache[key] = asyncio.ensure_future(load_meeting_plugins(request, meeting))
    return await asyncio.shield(cache[key])


def _stored_rows(loads: list[PluginLoad], keeps_failures: bool) -> list[dict[str, Any]]:
    # The oldest generations store only accepted plugins; the newest also rows with loadFailureReason
    # (which the client then skips).
    return [load.client_row() for load in loads if load.ok or (keeps_failures and load.name)]


async def _plugins(request: Request) -> Response:
    """The ``plugin`` rows of the caller's meeting, loaded once per meeting (first caller waits)."""
    from roomagent.demo.fake_bbb import SESSION_COOKIE  # late: fake_bbb imports this module

    state = request.app.state.fake
    session = state.session(request.query_params.get("sessionToken"))
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if session is None or not cookie or not secrets.compare_digest(cookie, session.jsessionid):
        return JSONResponse({"errors": [{"message": "invalid session"}]}, status_code=401)
    meeting = state.meetings.get(session.meeting)
    if meeting is None:
        return JSONResponse({"data": {"plugin": []}})
    loads = await meeting_plugins(request, meeting)
    keeps = state.generation.manifest_parser == "lenient"
    return JSONResponse({"data": {"plugin": _stored_rows(loads, keeps)}})


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
        Route(PLUGINS_PATH, _plugins),
        Route(INVITE_PREFIX + "/{path:path}", _proxy, methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
    ]
    if plugin_dir is not None:
        routes += [
            Mount("/_plugin_host", StaticFiles(directory=Path(plugin_dir) / "host", check_dir=False)),
            Mount("/plugins/roomagent", StaticFiles(directory=Path(plugin_dir) / "dist", check_dir=False)),
        ]
    return routes
