"""The invite service among real neighbours: the fake BigBlueButton (with a secret), the reference
directory (recording the requests it gets) and the invite service itself, each on its own loopback port.

Shared by the invite tests and the end-to-end test; :class:`Bbb` does what BBB's front-ends do
(create a meeting, join people with a role) and keeps each person's session token and cookie.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.directory.server.app import create_app as create_directory_app
from roomagent.directory.server.settings import DirectorySettings
from roomagent.invite.checksum import signed_query
from roomagent.invite.main import run_in_thread as run_invite
from roomagent.invite.settings import InviteSettings
from roomagent.serving import RunningServer, free_port, run_in_thread

SECRET = "invite-tests-bbb-secret-0123456789abcdef"
TOKEN_A = "token-of-uni-a-0123456789abcdef"
TOKEN_C = "token-of-uni-c-0123456789abcdef"
HTTP_TIMEOUT_S = 30.0  # failure guard; the relay waits up to 10 s for a room


@dataclass(frozen=True)
class Person:
    """Someone in a meeting: what their browser holds."""

    name: str
    meeting: str
    token: str
    jsessionid: str

    def headers(self, *, cookie: bool = True) -> dict[str, str]:
        """What the plugin sends: the session token, and (same origin) the JSESSIONID cookie."""
        headers = {"X-Session-Token": self.token}
        if cookie:
            headers["Cookie"] = f"JSESSIONID={self.jsessionid}"
        return headers


class Bbb:
    """The fake BigBlueButton as its front-ends (Greenlight, Moodle) use it: signed API calls."""

    def __init__(self, server: RunningServer, app: Any) -> None:
        self.server = server
        self.app = app
        self.url = server.url

    def api(self, call: str, **params: str) -> str:
        """A signed API URL."""
        return f"{self.url}/bigbluebutton/api/{call}?{signed_query(call, params, SECRET)}"

    def create(self, meeting: str, **params: str) -> None:
        """Create ``meeting`` (idempotent)."""
        answer = httpx.get(self.api("create", meetingID=meeting, name=f"Lecture {meeting}", **params))
        assert "<returncode>SUCCESS</returncode>" in answer.text, answer.text

    def join(self, meeting: str, name: str, role: str = "MODERATOR", **params: str) -> Person:
        """Join ``name`` with ``role`` as a browser would: follow the redirect, keep token and cookie."""
        answer = httpx.get(self.api("join", meetingID=meeting, fullName=name, role=role, **params))
        assert answer.status_code == 302, answer.text
        token = parse_qs(urlsplit(answer.headers["location"]).query)["sessionToken"][0]
        return Person(name=name, meeting=meeting, token=token, jsessionid=answer.cookies["JSESSIONID"])

    def log(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The fake's records."""
        return self.app.state.fake.records(kind)

    def end(self, meeting: str) -> None:
        """End ``meeting`` through the API."""
        assert "SUCCESS" in httpx.get(self.api("end", meetingID=meeting)).text

    def kick(self, person: Person) -> None:
        """A moderator removes ``person``."""
        httpx.post(f"{self.url}/_fake/kick", params={"token": person.token}).raise_for_status()

    def set_role(self, person: Person, role: str) -> None:
        """A moderator promotes or demotes ``person``."""
        httpx.post(f"{self.url}/_fake/role", params={"token": person.token, "role": role}).raise_for_status()


@dataclass
class Recorder:
    """The directory's requests as (method, path), in order, and how many of each were under way at once."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: dict[tuple[str, str], int] = field(default_factory=dict)
    most_at_once: dict[tuple[str, str], int] = field(default_factory=dict)

    def wrap(self, app: Any) -> Any:
        async def recording(scope, receive, send):
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            key = (scope["method"], scope["path"])
            with self.lock:
                self.requests.append(key)
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
                self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.in_flight[key])
            try:
                await app(scope, receive, send)
            finally:
                with self.lock:
                    self.in_flight[key] -= 1

        return recording

    def overlapping(self, method: str, path: str) -> int:
        """The most ``method path`` requests the directory was answering at the same time."""
        with self.lock:
            return self.most_at_once.get((method, path), 0)

    def creations(self) -> int:
        """How many codes were asked for."""
        with self.lock:
            return sum(1 for r in self.requests if r == ("POST", "/meeting"))


def error_of(answer: httpx.Response) -> tuple[int, str]:
    """(HTTP status, error code) of a refusal."""
    return answer.status_code, answer.json()["error"]["code"]


#: Who is refused an invite, and how (the same on every BigBlueButton generation).
REFUSED = {"viewer": (403, "not_moderator"), "no token": (401, "invalid_session"),
           "forged token": (401, "invalid_session"), "no cookie": (401, "invalid_session"),
           "kicked": (403, "not_moderator"), "demoted": (403, "not_moderator"),
           "ended": (403, "meeting_not_running")}


def refused_caller(world: World, who: str, meeting: str, teacher: Person,
                   student: Person) -> tuple[Person | None, bool]:
    """The caller of kind ``who`` (a key of :data:`REFUSED`) and whether it sends BBB's session cookie;
    for "kicked", "demoted" and "ended" the fake BBB is changed first, the teacher stays the caller."""
    person, cookie = teacher, True
    if who == "viewer":
        person = student
    elif who == "no token":
        person = None
    elif who == "forged token":
        person = Person(teacher.name, meeting, secrets.token_hex(8), teacher.jsessionid)
    elif who == "no cookie":
        cookie = False  # a session token seen in a screen share, used from another browser
    elif who == "kicked":
        world.bbb.kick(teacher)
    elif who == "demoted":
        world.bbb.set_role(teacher, "VIEWER")
    elif who == "ended":
        world.bbb.end(meeting)
    return person, cookie


def directory_settings(url: str, mqtt_url: str | None, **overrides: Any) -> DirectorySettings:
    """A directory that lists three institutions, all served by itself (its own URL)."""
    values: dict[str, Any] = dict(
        code_ttl_s=300,
        allowed_join_hosts=["127.0.0.1"],
        store="memory",
        tokens={"uni-a": TOKEN_A, "uni-c": TOKEN_C},
        servers=[{"id": "uni-a", "name": "University A", "url": url},
                 {"id": "uni-b", "name": "University B", "url": url},
                 {"id": "uni-c", "name": "College C", "url": url}],
        default_server="uni-a",
        mqtt={"url": mqtt_url} if mqtt_url else {},
    )
    values.update(overrides)
    return DirectorySettings(**values)


def invite_settings(bbb_url: str, directory_url: str, *, web_url: str = "", **overrides: Any) -> InviteSettings:
    """The invite service of the fake BigBlueButton, holding tokens for uni-a and uni-c (not uni-b);
    ``web_url``: a separate bbb-web for the session check."""
    values: dict[str, Any] = dict(
        bbb={"url": f"{bbb_url}/bigbluebutton/", "secret": SECRET, "checksum": "sha256", "web_url": web_url},
        directory={"url": directory_url, "default_server": "uni-a"},
        tokens={"uni-a": TOKEN_A, "uni-c": TOKEN_C},
    )
    values.update(overrides)
    return InviteSettings(**values)


class World:
    """Fake BBB + directory (+ relay when ``mqtt_url``) + invite service; ``stop()`` ends them all."""

    def __init__(self, mqtt_url: str | None = None, *, clock=None, plugin_dir=None, generation: str | None = None,
                 directory_overrides: dict[str, Any] | None = None, **invite_overrides: Any) -> None:
        # generation: a name from roomagent.demo.bbb_generations (the fake's default when None)
        extra = {"generation": generation} if generation else {}
        bbb_app = create_bbb_app(secret=SECRET, plugin_dir=plugin_dir, **extra)
        self.bbb = Bbb(run_in_thread(bbb_app), bbb_app)
        port = free_port()
        directory_url = f"http://127.0.0.1:{port}"
        self.recorder = Recorder()
        kwargs = {"clock": clock} if clock else {}
        app = create_directory_app(directory_settings(directory_url, mqtt_url, **(directory_overrides or {})),
                                   **kwargs)
        self.directory = run_in_thread(self.recorder.wrap(app), port=port, proxy_headers=False)
        self.invite_settings = invite_settings(self.bbb.url, directory_url, **invite_overrides)
        self.invite = run_invite(self.invite_settings)
        bbb_app.state.invite_base = self.invite.url
        self.http = httpx.Client(base_url=self.invite.url, timeout=HTTP_TIMEOUT_S)

    def call(self, method: str, path: str, person: Person | None, *, cookie: bool = True, **kwargs: Any):
        """A request to the invite service as ``person``'s plugin makes it."""
        headers = person.headers(cookie=cookie) if person else {}
        return self.http.request(method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

    def stop(self) -> None:
        self.http.close()
        for server in (self.invite, self.directory, self.bbb.server):
            server.stop()
