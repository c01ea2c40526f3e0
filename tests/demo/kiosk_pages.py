"""Pages that try everything a kiosk browser must refuse, served next to the demo meeting.

``create_kiosk_test_app()`` is the demo meeting server plus these routes under ``/t/``. Each page
reports what happened to it in ``document.title`` (read synchronously by the tests) so nothing has
to be polled through JavaScript.
"""

from __future__ import annotations

import html
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from roomagent.demo.meeting_server import create_app


def _page(title: str, body: str = "", script: str = "") -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='margin:0'>{body}<script>{script}</script></body></html>"
    )


def _js(value: str) -> str:
    return json.dumps(value).replace("<", "\\u003c")


async def popup_auto(request: Request) -> Response:
    # No user gesture: Chromium's popup blocker (JavascriptCanOpenWindows off) answers null.
    return _page(
        "popup-auto",
        script="const w = window.open('/meeting/popup-target');"
        " document.title = 'popup-auto:' + (w === null ? 'null' : 'window');",
    )


async def popup_click(request: Request) -> Response:
    # One big button, so a synthetic click anywhere in the view is a real user gesture on it.
    return _page(
        "popup-click",
        body="<button id='b' style='position:fixed;inset:0;width:100%;height:100%;font-size:40px'"
        " onclick=\"const w = window.open('/meeting/popup-target'); document.title = 'clicked:' +"
        " (w === null ? 'null' : (w.closed ? 'closed' : 'open'));\">open a window</button>",
    )


async def go_away(request: Request) -> Response:
    target = request.query_params["to"]
    return _page("go-away", script=f"setTimeout(() => {{ location.href = {_js(target)}; }}, 0);")


async def frame(request: Request) -> Response:
    src = request.query_params["src"]
    return _page("frame", body=f"<iframe id='f' src='{html.escape(src)}' width='400' height='300'></iframe>")


async def download_file(request: Request) -> Response:
    return PlainTextResponse(
        "not for a projector\n", headers={"Content-Disposition": 'attachment; filename="minutes.txt"'}
    )


async def links(request: Request) -> Response:
    return _page(
        "links",
        body="<a id='download' href='/t/download'>minutes</a>"
        " <a id='file' href='file:///etc/hostname'>hostname</a>",
    )


async def media(request: Request) -> Response:
    constraints = {"video": True, "audio": request.query_params.get("audio") == "1"}
    return _page(
        "media:pending",
        script=f"navigator.mediaDevices.getUserMedia({json.dumps(constraints)}).then("
        " s => { document.title = 'media:ok:' + s.getTracks().map(t => t.kind).sort().join(','); },"
        " e => { document.title = 'media:error:' + e.name; });",
    )


async def geolocation(request: Request) -> Response:
    return _page(
        "geo:pending",
        script="navigator.geolocation.getCurrentPosition("
        " p => { document.title = 'geo:ok'; }, e => { document.title = 'geo:error:' + e.code; });",
    )


async def dialogs(request: Request) -> Response:
    return _page(
        "dialogs:pending",
        script="alert('hello'); const c = confirm('leave?'); const p = prompt('name?', 'x');"
        " document.title = 'dialogs:' + c + ':' + p;",
    )


def create_kiosk_test_app() -> Starlette:
    """The demo meeting server with the misbehaving pages added (one shared load log and cookie jar)."""
    return create_app(
        extra_routes=[
            Route("/t/popup-auto", popup_auto),
            Route("/t/popup-click", popup_click),
            Route("/t/go-away", go_away),
            Route("/t/frame", frame),
            Route("/t/download", download_file),
            Route("/t/links", links),
            Route("/t/media", media),
            Route("/t/geolocation", geolocation),
            Route("/t/dialogs", dialogs),
        ]
    )
