"""The fake meeting servers as pytest fixtures, for any test folder (the root ``conftest.py`` loads this
module as a plugin, so a test just names the fixture).

Each fixture hands out its server with an empty log. The servers themselves start once per test
process, on first use, whichever folder asks first; they are kept in pytest's config stash (not in a
module global) and stopped when pytest ends.

* ``bbb_server`` — fake BigBlueButton 3 on ``http://127.0.0.1:<port>``.
* ``bbb30_server`` — an early 3.0 client that only knows ``CHANGE_ENFORCED_LAYOUT``.
* ``bbb2_server`` — BigBlueButton 2.x: no getJoinUrl (404).
* ``scalelite_server`` — a load balancer on ``http://localhost:<port>`` (another host name) that
  redirects joins to ``bbb_server``; ``.bbb`` is that server.
* ``jitsi_server`` — fake Jitsi Meet on ``http://127.0.0.1:<port>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from roomagent.demo.fake_bbb import create_bbb_app, create_scalelite_app
from roomagent.demo.fake_jitsi import create_jitsi_app
from roomagent.serving import RunningServer, run_in_thread

HTTP_TIMEOUT_S = 5.0  # failure guard: loopback answers in milliseconds
#: Only makes the join URLs look like bbb-web's (sha1 of call name + query + secret); nothing checks it.
FAKE_SECRET = "fake-bbb-secret"


class FakeServer:
    """A running fake server: ``.url`` (no trailing slash), ``.host``, ``.port``, ``.app``, and its log."""

    def __init__(self, running: RunningServer, app: Starlette, url: str | None = None) -> None:
        self.running = running
        self.app = app
        self.url = url or running.url
        parts = urlsplit(self.url)
        self.host: str = parts.hostname or ""
        self.port: int = parts.port or running.port

    def log(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The server's records, oldest first (only those of ``kind`` if given), read over HTTP."""
        params = {"kind": kind} if kind else None
        response = httpx.get(f"{self.url}/_fake/log", params=params, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Empty the log and forget sessions, rooms and queued events."""
        self._post("/_fake/reset")

    def stop(self) -> None:
        """Stop serving (done for you when pytest ends)."""
        self.running.stop()

    def _post(self, path: str, **params: str) -> httpx.Response:
        response = httpx.post(f"{self.url}{path}", params=params, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        return response

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


class BbbServer(FakeServer):
    """The fake BigBlueButton (see ``roomagent/demo/fake_bbb.py``) plus what a moderator could do."""

    def join_url(
        self,
        meeting: str = "m1",
        full_name: str = "Room H 0104",
        *,
        userdata: dict[str, str] | None = None,
        **params: str,
    ) -> str:
        """A signed-looking ``/bigbluebutton/api/join`` URL; ``userdata={"bbb_x": "true"}`` adds
        ``userdata-bbb_x=true``, other keyword arguments are added as they are (``sessionName=…``)."""
        query: dict[str, str] = {"meetingID": meeting, "fullName": full_name, "role": "VIEWER", **params}
        query.update({f"userdata-{k}": v for k, v in (userdata or {}).items()})
        encoded = urlencode(query)
        checksum = hashlib.sha1(f"join{encoded}{FAKE_SECRET}".encode()).hexdigest()
        return f"{self.url}/bigbluebutton/api/join?{encoded}&checksum={checksum}"

    def end(self, meeting: str = "m1") -> None:
        """End ``meeting``: its pages show the ended modal, then leave for ``/``; new joins fail."""
        self._post("/_fake/end", meetingID=meeting)

    def kick(self, session_name: str | None = None, *, token: str | None = None) -> None:
        """Remove the session(s) called ``session_name`` (or with ``token``); raises if none matches."""
        self._post("/_fake/kick", **_target(session_name, token))

    def mute(self, session_name: str | None = None, *, token: str | None = None) -> None:
        """A moderator mutes the session(s); their mic button flips without a ``mute`` record."""
        self._post("/_fake/mute", **_target(session_name, token))


class ScaleliteServer(BbbServer):
    """The fake Scalelite, reached by another host name; ``.bbb`` is the BigBlueButton behind it.

    :meth:`log` is Scalelite's own (its redirects); ``end``/``kick``/``mute`` act on ``.bbb``.
    """

    def __init__(self, running: RunningServer, app: Starlette, url: str, bbb: BbbServer) -> None:
        super().__init__(running, app, url)
        self.bbb = bbb

    def reset(self) -> None:
        """Empty Scalelite's log and the BigBlueButton's."""
        super().reset()
        self.bbb.reset()

    def end(self, meeting: str = "m1") -> None:
        """End ``meeting`` on the BigBlueButton behind."""
        self.bbb.end(meeting)

    def kick(self, session_name: str | None = None, *, token: str | None = None) -> None:
        """Kick on the BigBlueButton behind."""
        self.bbb.kick(session_name, token=token)

    def mute(self, session_name: str | None = None, *, token: str | None = None) -> None:
        """Moderator-mute on the BigBlueButton behind."""
        self.bbb.mute(session_name, token=token)


class JitsiServer(FakeServer):
    """The fake Jitsi Meet (see ``roomagent/demo/fake_jitsi.py``) plus server-side happenings per room."""

    @property
    def api_url(self) -> str:
        """Where ``external_api.js`` is served."""
        return f"{self.url}/external_api.js"

    @property
    def wrapper_base(self) -> str:
        """A base URL for a local wrapper page that puts it on this server's origin."""
        return f"{self.url}/roomagent-wrapper"

    def kick(self, room: str) -> None:
        """A moderator kicks the local participant: ``participantKickedOut`` then ``videoConferenceLeft``."""
        self._post("/_fake/kick", room=room)

    def end(self, room: str) -> None:
        """The conference ends: ``videoConferenceLeft`` then ``readyToClose``."""
        self._post("/_fake/end", room=room)

    def error(self, room: str, name: str = "conference.connectionError.someError", fatal: bool = True) -> None:
        """``errorOccurred`` with the documented flat payload ``{name, message, type, isFatal, details}``."""
        self._post("/_fake/error", room=room, name=name, fatal="true" if fatal else "false")

    def mute(self, room: str) -> None:
        """A moderator mutes the room's audio: ``audioMuteStatusChanged {muted: true}``."""
        self._post("/_fake/remote_mute", room=room)


def _target(session_name: str | None, token: str | None) -> dict[str, str]:
    if not session_name and not token:
        raise ValueError("name a session_name or a token")
    params = {"sessionName": session_name} if session_name else {}
    if token:
        params["token"] = token
    return params


S = TypeVar("S", bound=FakeServer)
_BBB = pytest.StashKey[BbbServer]()
_BBB30 = pytest.StashKey[BbbServer]()
_BBB2 = pytest.StashKey[BbbServer]()
_SCALELITE = pytest.StashKey[ScaleliteServer]()
_JITSI = pytest.StashKey[JitsiServer]()


def _shared(request: pytest.FixtureRequest, key: pytest.StashKey[S], start: Callable[[], S]) -> S:
    """The process-wide server under ``key``, started on first use and stopped when pytest ends."""
    stash = request.config.stash
    if key not in stash:
        server = start()
        stash[key] = server
        request.config.add_cleanup(server.stop)
    return stash[key]


def _serve_bbb(**options: Any) -> Callable[[], BbbServer]:
    def start() -> BbbServer:
        app = create_bbb_app(**options)
        return BbbServer(run_in_thread(app, host="127.0.0.1"), app)

    return start


@pytest.fixture
def bbb_server(request: pytest.FixtureRequest) -> BbbServer:
    """Fake BigBlueButton 3 on 127.0.0.1 with an empty log."""
    server = _shared(request, _BBB, _serve_bbb())
    server.reset()
    return server


@pytest.fixture
def bbb30_server(request: pytest.FixtureRequest) -> BbbServer:
    """Fake early BigBlueButton 3.0: its client listens only to ``CHANGE_ENFORCED_LAYOUT``."""
    server = _shared(request, _BBB30, _serve_bbb(layout_events=("CHANGE_ENFORCED_LAYOUT",)))
    server.reset()
    return server


@pytest.fixture
def bbb2_server(request: pytest.FixtureRequest) -> BbbServer:
    """Fake BigBlueButton 2.x: join works, getJoinUrl is a 404."""
    server = _shared(request, _BBB2, _serve_bbb(get_join_url=False))
    server.reset()
    return server


@pytest.fixture
def scalelite_server(request: pytest.FixtureRequest) -> ScaleliteServer:
    """Fake Scalelite on http://localhost:<port> in front of ``bbb_server`` (http://127.0.0.1:<port>)."""
    bbb = _shared(request, _BBB, _serve_bbb())

    def start() -> ScaleliteServer:
        app = create_scalelite_app(bbb.url)
        running = run_in_thread(app, host="127.0.0.1")
        return ScaleliteServer(running, app, f"http://localhost:{running.port}", bbb)

    server = _shared(request, _SCALELITE, start)
    server.reset()
    return server


@pytest.fixture
def jitsi_server(request: pytest.FixtureRequest) -> JitsiServer:
    """Fake Jitsi Meet on 127.0.0.1 with an empty log and no queued events."""

    def start() -> JitsiServer:
        app = create_jitsi_app()
        return JitsiServer(run_in_thread(app, host="127.0.0.1"), app)

    server = _shared(request, _JITSI, start)
    server.reset()
    return server


__all__ = [
    "BbbServer",
    "FakeServer",
    "JitsiServer",
    "ScaleliteServer",
    "bbb2_server",
    "bbb30_server",
    "bbb_server",
    "jitsi_server",
    "scalelite_server",
]
