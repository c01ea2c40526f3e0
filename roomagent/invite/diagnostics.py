"""``GET /diagnostics/echo``: what reached the invite service through the front proxy, for ``invite check``.

``roomagent invite check`` calls it through the public URL (BBB's nginx) with a fresh test session, to
see whether nginx passes the ``X-Session-Token`` header and the ``JSESSIONID`` cookie, and whether the
service then identifies the caller as BBB's own check does. It answers which of the two arrived (yes
or no, never their values) and, only when :func:`~roomagent.invite.identity.identify` accepts the caller,
who that is; otherwise the refusal's code and message. Nothing is created or changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from roomagent.invite.errors import InviteError
from roomagent.invite.identity import identify

ECHO_PATH = "/diagnostics/echo"


def add_diagnostics(app: FastAPI, throttle: Callable[[Request], None]) -> None:
    """Add :data:`ECHO_PATH` to the invite service ``app``; ``throttle`` is the per-session rate limit."""

    @app.get(ECHO_PATH)
    async def echo(request: Request) -> dict[str, Any]:
        """Which of X-Session-Token and the JSESSIONID cookie arrived; the caller when identified."""
        throttle(request)
        token = request.headers.get("x-session-token")
        cookie = request.cookies.get("JSESSIONID")
        seen = {"x_session_token": bool(token), "jsessionid_cookie": bool(cookie)}
        try:
            caller = await identify(request.app.state.bbb, token, cookie)
        except InviteError as exc:
            return {"seen": seen, "identified": False, "error": {"code": exc.code, "message": exc.message}}
        return {"seen": seen, "identified": True, "user_id": caller.user_id, "meeting_id": caller.meeting.meeting_id}
