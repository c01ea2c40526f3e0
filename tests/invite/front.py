"""A misconfigured front (nginx) for ``invite check`` tests: a reverse proxy to the fake BigBlueButton that
can drop request headers under ``/roomagent-invite/`` and rewrite the path of the cookies the server sets.

The fake's own ``/roomagent-invite/`` proxy (``fake_bbb_plugins.py``) is the correct nginx; this one sits
in front of the whole fake to reproduce what a wrong snippet or a bbb-web with another cookie path does.
"""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_HOP = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}


def create_front(target: str, *, drop: frozenset[str] = frozenset(), cookie_path: str | None = None) -> Starlette:
    """Forward everything to ``target``; ``drop``: lower-case request headers removed under
    ``/roomagent-invite/``; ``cookie_path``: the ``Path`` every ``Set-Cookie`` gets on the way back."""

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k not in _HOP}
        if request.url.path.startswith("/roomagent-invite/"):
            headers = {k: v for k, v in headers.items() if k not in drop}
        async with httpx.AsyncClient(timeout=30) as client:
            # The query goes on byte for byte: a re-encoded one would break the API's checksums.
            url = target + request.url.path + (f"?{request.url.query}" if request.url.query else "")
            answer = await client.request(request.method, url, headers=headers, content=await request.body())
        response = Response(answer.content, status_code=answer.status_code)
        for key, value in answer.headers.multi_items():
            if key in _HOP or key == "content-encoding":
                continue
            if key == "set-cookie" and cookie_path is not None:
                value = re.sub(r"(?i)path=[^;]*", f"Path={cookie_path}", value)
            response.headers.append(key, value)
        return response

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])
