"""A meeting page that stores everything a browser can store, for the privacy test.

``GET /meeting/{name}`` sets an HttpOnly cookie (reported when the browser sends it back) and runs a script that writes localStorage, sessionStorage,
IndexedDB and the Cache API, and loads ``/asset.js`` with a long ``Cache-Control`` (the HTTP cache).
Every value carries a marker that the test later looks for on disk. The page reports each write it
could read back with ``POST /_stored``; ``GET /_stored`` lists the reports.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

#: What the page stores; the test waits for a report of each.
KINDS = ("cookie", "localStorage", "sessionStorage", "indexedDB", "cacheStorage", "httpCache")


@dataclass
class Markers:
    """One marker per kind of storage (random per test, so nothing else on disk contains them)."""

    cookie: str
    local: str
    session: str
    indexed: str
    cache_api: str
    http_cache: str
    reports: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def all(self) -> list[str]:
        """Every marker value."""
        return [self.cookie, self.local, self.session, self.indexed, self.cache_api, self.http_cache]


def _script(m: Markers) -> str:
    values = json.dumps({"local": m.local, "session": m.session, "indexed": m.indexed, "cache": m.cache_api})
    return f"""
const M = {values};
const report = (kind) => fetch('/_stored', {{method: 'POST', body: kind}});
localStorage.setItem('privacy-local', M.local);
if (localStorage.getItem('privacy-local') === M.local) report('localStorage');
sessionStorage.setItem('privacy-session', M.session);
if (sessionStorage.getItem('privacy-session') === M.session) report('sessionStorage');
const open = indexedDB.open('privacy-db', 1);
open.onupgradeneeded = () => open.result.createObjectStore('things');
open.onsuccess = () => {{
  const tx = open.result.transaction('things', 'readwrite');
  tx.objectStore('things').put(M.indexed, 'marker');
  tx.oncomplete = () => report('indexedDB');
}};
caches.open('privacy-cache')
  .then((cache) => cache.put('/cached-by-page', new Response(M.cache)).then(() => cache.match('/cached-by-page')))
  .then((hit) => hit && hit.text())
  .then((text) => {{ if (text === M.cache) report('cacheStorage'); }});
"""


def create_storage_app(markers: Markers) -> Starlette:
    """The page server for ``markers``."""

    async def meeting(request: Request) -> Response:
        body = (f"<!doctype html><html><head><meta charset='utf-8'><title>privacy meeting</title>"
                f"<script src='/asset.js'></script></head><body><h1>privacy meeting</h1>"
                f"<script>{_script(markers)}</script></body></html>")
        response = HTMLResponse(body)
        response.set_cookie("privacy_cookie", markers.cookie, max_age=86400, httponly=True, samesite="lax")
        return response

    async def asset(request: Request) -> Response:
        # Cacheable for a day: a disk cache would keep this body.
        script = f"window.privacyAsset = {json.dumps(markers.http_cache)}; fetch('/_stored', {{method: 'POST', body: 'httpCache'}});"
        return Response(script, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    async def stored(request: Request) -> Response:
        if request.method == "POST":
            kind = (await request.body()).decode()
            # The cookie is HttpOnly: the page cannot see it, but the browser sends it back with the report.
            kinds = {kind} | ({"cookie"} if request.cookies.get("privacy_cookie") == markers.cookie else set())
            with markers.lock:
                markers.reports |= kinds & set(KINDS)
            return Response(status_code=204)
        with markers.lock:
            return JSONResponse(sorted(markers.reports))

    return Starlette(routes=[Route("/meeting/{name}", meeting), Route("/asset.js", asset),
                             Route("/_stored", stored, methods=["GET", "POST"])])
