"""A tiny fake meeting platform for ``roomagent demo`` and the screen-window tests.

``GET /meeting/{name}?screen=left`` answers a colourful page that looks enough like a meeting to be
recognised on a projector. Each load is recorded (path, query, cookies sent, user agent, time) in a
log owned by the app instance, readable at ``GET /_loads`` and cleared by ``POST /_reset``. Every
visitor without a ``demo_session`` cookie gets a fresh random one, which is how the tests prove that
two screen sessions never share cookies.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

SESSION_COOKIE = "demo_session"

# Tile colours of the fake participants: saturated enough for a washed-out projector and dark
# enough that the white initials on them stay readable.
_TILE_COLOURS = ("#d1495b", "#0f8b8d", "#b7791f", "#4f7c2a", "#7d3c98", "#2e6fd1")
_PARTICIPANTS = ("Ada L.", "Alan T.", "Grace H.", "Edsger D.", "Barbara L.", "Donald K.")


class LoadLog:
    """Thread-safe record of meeting page loads (uvicorn serves from its own thread)."""

    def __init__(self, on_add: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._loads: list[dict[str, Any]] = []
        self._on_add = on_add

    def add(self, entry: dict[str, Any]) -> None:
        """Append one load record (and tell ``on_add``, e.g. a benchmark waiting for it)."""
        with self._lock:
            self._loads.append(entry)
        if self._on_add is not None:
            self._on_add(entry)

    def snapshot(self, kind: str | None = None) -> list[dict[str, Any]]:
        """A copy of all records, oldest first; only those whose ``kind`` is ``kind`` if given."""
        with self._lock:
            return [dict(e) for e in self._loads if kind is None or e.get("kind") == kind]

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._loads.clear()


async def read_page_event(request: Request) -> tuple[str, dict[str, Any]] | Response:
    """A fake client page's ``POST /_fake/event``: ``(kind, fields)``, or the 400 to answer.

    ``sendBeacon`` posts text/plain and ``fetch`` application/json, so the body is read either way."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return PlainTextResponse("body is not JSON", status_code=400)
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str) or not body["kind"]:
        return PlainTextResponse("a JSON object with a 'kind' is required", status_code=400)
    kind = body.pop("kind")
    return kind, body


def meeting_page(name: str, screen: str, session: str) -> str:
    """The HTML of the demo meeting called ``name`` as shown on ``screen``."""
    esc = html.escape
    tiles = "\n".join(
        f'<div class="tile" style="background:{colour}"><span class="initials">'
        f'{esc("".join(w[0] for w in person.split()))}</span><span class="who">{esc(person)}</span></div>'
        for colour, person in zip(_TILE_COLOURS, _PARTICIPANTS, strict=True)
    )
    # No raw "<" inside the script element, so a hostile meeting name can neither close it nor
    # switch the HTML parser into its escaped-script states.
    info = json.dumps({"meeting": name, "screen": screen, "session": session}).replace("<", "\\u003c")
    screen_label = f" · screen {esc(screen)}" if screen else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(name)}{screen_label} — demo meeting</title>
<style>
  html, body {{ margin: 0; height: 100%; background: #101826; color: #f4f6fb;
               font-family: "DejaVu Sans", sans-serif; overflow: hidden; }}
  header {{ display: flex; align-items: baseline; gap: 2vw; padding: 2.5vh 3vw;
            background: linear-gradient(90deg, #1d3557, #457b9d); }}
  header h1 {{ margin: 0; font-size: 5vh; }}
  header .screen {{ font-size: 3vh; color: #ffd166; }}
  header .live {{ margin-left: auto; font-size: 2.6vh; background: #e63946; padding: .4vh 1.2vw;
                  border-radius: 1vh; font-weight: bold; }}
  main {{ display: grid; grid-template-columns: 3fr 2fr; gap: 2vw; padding: 3vh 3vw; height: 78vh; }}
  .slide {{ border-radius: 2vh; padding: 4vh 3vw; background: linear-gradient(135deg, #f1faee, #a8dadc);
            color: #1d3557; display: flex; flex-direction: column; justify-content: center; }}
  .slide h2 {{ font-size: 6vh; margin: 0 0 3vh; }}
  .slide li {{ font-size: 3.4vh; margin: 1.2vh 0; }}
  .tiles {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1.5vw; }}
  .tile {{ border-radius: 2vh; position: relative; display: flex; align-items: center;
           justify-content: center; }}
  .initials {{ font-size: 8vh; font-weight: bold; color: rgba(255,255,255,.92); }}
  .who {{ position: absolute; left: 1vw; bottom: 1vh; font-size: 2.2vh; background: rgba(0,0,0,.45);
          padding: .3vh .8vw; border-radius: .8vh; }}
</style></head>
<body>
<header><h1 id="meeting-title">{esc(name)}</h1><span class="screen" id="screen">{esc(screen)}</span>
<span class="live">● LIVE (demo)</span></header>
<main>
  <section class="slide"><h2>Welcome to “{esc(name)}”</h2>
    <ul><li>This is the roomagent demo meeting server.</li>
        <li>Each screen opens its own browser session.</li>
        <li>Cookies never cross between screens.</li></ul></section>
  <section class="tiles">{tiles}</section>
</main>
<script>window.roomagentDemo = {info};</script>
</body></html>
"""


async def _meeting(request: Request) -> Response:
    log: LoadLog = request.app.state.loads
    name = request.path_params["name"]
    screen = request.query_params.get("screen", "")
    existing = request.cookies.get(SESSION_COOKIE)
    session = existing or secrets.token_hex(8)
    log.add(
        {
            "path": request.url.path,
            "query": dict(request.query_params),
            "cookies": dict(request.cookies),
            "user_agent": request.headers.get("user-agent", ""),
            "time": time.time(),
            "meeting": name,
            "screen": screen,
            "session": session,
            "new_session": existing is None,
        }
    )
    response = HTMLResponse(meeting_page(name, screen, session))
    if existing is None:
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax")
    return response


async def _loads(request: Request) -> Response:
    return JSONResponse(request.app.state.loads.snapshot())


async def _reset(request: Request) -> Response:
    request.app.state.loads.clear()
    return Response(status_code=204)


async def _index(request: Request) -> Response:
    return RedirectResponse("/meeting/Demo%20lecture", status_code=302)


def create_app(*, extra_routes: Sequence[BaseRoute] = (),
               on_load: Callable[[dict[str, Any]], None] | None = None) -> Starlette:
    """Build a fresh demo meeting server; its load log is ``app.state.loads`` (a :class:`LoadLog`).

    ``extra_routes`` lets tests add pages (popups, downloads, …) that share the same log and cookies.
    """
    routes: list[BaseRoute] = [
        Route("/", _index),
        Route("/meeting/{name}", _meeting),
        Route("/_loads", _loads),
        Route("/_reset", _reset, methods=["POST"]),
        *extra_routes,
    ]
    app = Starlette(routes=routes)
    app.state.loads = LoadLog(on_load)
    return app
