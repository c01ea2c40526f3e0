"""``roomagent invite check``: can the whole invite flow work on this BigBlueButton server?

Run by the operator on the BBB host after installing (README "Installing on a BigBlueButton server").
It goes through the flow a teacher's click takes, against the live server, one step after another, and
prints one line per step with what to fix:

``api`` reachable and its version · ``checksum`` algorithm accepted · a throwaway ``meeting`` created
(ended again at the end: ``cleanup``) · a test ``moderator`` and ``viewer`` joined (the 302 followed by
hand, the ``JSESSIONID`` cookie kept) · the ``session_check`` shape and its headers · ``user_id``:
getMeetingInfo lists the user the session check named · the plugin ``manifest`` fetched through the
public URL and valid for this server's generation · the invite ``service`` running · ``nginx`` passing
``Cookie`` and ``X-Session-Token`` to it · the ``cookie`` (as the browser holds it) reaching the service's
path · the ``directory`` reachable with our token(s).

Exit 0 only when no step failed or was skipped. A step that raises (garbage answers, an unknown
generation) becomes a failed step saying what it saw, never a traceback. The BBB-side steps are here,
the public-URL ones in :mod:`roomagent.invite.check_site`.
"""

from __future__ import annotations

import json
import secrets
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from roomagent import __version__
from roomagent.invite.bbb import SESSION_CHECK_AGENT, SessionFacts, parse_meeting, session_facts
from roomagent.invite.checksum import ALGORITHMS, signed_query
from roomagent.invite.settings import InviteSettings

Status = Literal["ok", "warn", "fail", "skip"]
CHECK_PREFIX = "roomagent-check-"
MAX_SHOWN = 160  # characters of an unexpected answer quoted back to the operator


@dataclass
class Verdict:
    """One step's outcome: a status, a sentence, what to fix, and what was seen (for ``--json``)."""

    step: str
    status: Status
    summary: str
    fix: str = ""
    seen: dict[str, Any] = field(default_factory=dict)


class StepFailed(Exception):
    """A step's failure with the operator's fix; raised inside a step, turned into a :class:`Verdict`."""

    def __init__(self, summary: str, fix: str = "", **seen: Any) -> None:
        super().__init__(summary)
        self.summary, self.fix, self.seen = summary, fix, seen


@dataclass
class Joined:
    """A test user's browser after the join: its own cookie jar, session token, JSESSIONID."""

    role: str
    browser: httpx.Client
    token: str
    cookie: str
    cookie_path: str
    cookie_secure: bool
    location: str


def shown(text: str | bytes) -> str:
    """The start of an unexpected answer, on one line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:MAX_SHOWN] + ("…" if len(text) > MAX_SHOWN else "")


class Probe:
    """The state of one check run; each ``step_*`` method returns a :class:`Verdict` or raises."""

    def __init__(self, settings: InviteSettings, *, public_url: str, manifest_url: str, service_url: str,
                 client_sdk: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.bbb = settings.bbb
        self.public_url = public_url.rstrip("/")
        self.manifest_url = manifest_url
        self.service_url = service_url.rstrip("/")
        self.client_sdk = client_sdk
        self.transport = transport
        self.timeout = self.bbb.timeout_s
        self.meeting_id = CHECK_PREFIX + secrets.token_hex(4)
        self.internal_id = ""
        self.users: dict[str, Joined] = {}
        self.facts: SessionFacts | None = None
        self.shape = ""
        self._clients: list[httpx.Client] = []

    # -- plumbing ---------------------------------------------------------------------------------

    def client(self) -> httpx.Client:
        """A fresh client with its own cookie jar (closed by :meth:`close`)."""
        c = httpx.Client(follow_redirects=False, timeout=self.timeout, transport=self.transport,
                         headers={"User-Agent": f"roomagent-invite-check/{__version__}"})
        self._clients.append(c)
        return c

    def get(self, url: str, *, fix: str = "check that the URL is right and the server is up",
            **kwargs: Any) -> httpx.Response:
        """A GET without cookies kept; a network error becomes a failed step naming the URL and ``fix``."""
        try:
            return self.client().get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise StepFailed(f"cannot reach {_public(url)}: {type(exc).__name__}: {shown(str(exc))}", fix,
                             url=_public(url)) from None

    def api(self, call: str, params: dict[str, str], algorithm: str | None = None) -> ET.Element:
        """A signed API call's XML answer (or a failed step saying what came back instead)."""
        query = signed_query(call, params, self.bbb.secret.get_secret_value(), algorithm or self.bbb.checksum)
        answer = self.get(self.bbb.api_base + call + "?" + query)
        return _xml(answer, call)

    def close(self) -> None:
        """Close every client."""
        for c in self._clients:
            c.close()

    # -- the BBB side -----------------------------------------------------------------------------

    def step_api(self) -> Verdict:
        """``GET /bigbluebutton/api``: bbb-web answers, with its versions."""
        answer = self.get(self.bbb.api_base.rstrip("/"), fix="check [bbb] url and that bbb-web runs (bbb-conf --status)")
        root = _xml(answer, "the API root")
        if root.findtext("returncode") != "SUCCESS":
            raise StepFailed(f"the API root's answer is not bbb-web's XML (no SUCCESS returncode): "
                             f"{shown(answer.content)}", "check [bbb] url (it should end in /bigbluebutton/)",
                             body=shown(answer.content))
        version, bbb_version = root.findtext("version") or "?", root.findtext("bbbVersion") or "not stated"
        return Verdict("api", "ok", f"BigBlueButton API at {self.bbb.api_base}: version {version}, "
                       f"bbbVersion {bbb_version}", seen={"version": version, "bbbVersion": bbb_version})

    def step_checksum(self) -> Verdict:
        """A signed ``getMeetings`` is accepted with the configured algorithm (else: which one is)."""
        root = self.api("getMeetings", {})
        if root.findtext("returncode") == "SUCCESS":
            return Verdict("checksum", "ok", f"the API accepts our {self.bbb.checksum} signature")
        key = root.findtext("messageKey") or "?"
        if key != "checksumError":
            raise StepFailed(f"getMeetings failed with {key}: {shown(root.findtext('message') or '')}")
        others = [a for a in ALGORITHMS if a != self.bbb.checksum
                  and self.api("getMeetings", {}, a).findtext("returncode") == "SUCCESS"]
        if others:
            raise StepFailed(f"{self.bbb.checksum} is not accepted, {', '.join(others)} is",
                             f"set [bbb] checksum = \"{others[0]}\" (or add {self.bbb.checksum} to bbb-web's "
                             "supportedChecksumAlgorithms)", accepted=others)
        raise StepFailed("BigBlueButton refuses our signature with every algorithm",
                         "set [bbb] secret_file to a file holding the output of `bbb-conf --secret`")

    def step_meeting(self) -> Verdict:
        """The throwaway meeting is created."""
        root = self.api("create", {"meetingID": self.meeting_id, "name": "roomagent invite check",
                                   "record": "false", "moderatorPW": secrets.token_hex(6),
                                   "attendeePW": secrets.token_hex(6)})
        if root.findtext("returncode") != "SUCCESS":
            raise StepFailed(f"create failed: {root.findtext('messageKey')}: {shown(root.findtext('message') or '')}")
        self.internal_id = root.findtext("internalMeetingID") or ""
        return Verdict("meeting", "ok", f"throwaway meeting {self.meeting_id} created",
                       seen={"meeting": self.meeting_id, "internal_id": self.internal_id})

    def _join(self, role: str) -> Verdict:
        """Join a test user as a browser does, following the redirects by hand with its own cookie jar."""
        step = role.lower()
        params = {"meetingID": self.meeting_id, "fullName": f"roomagent check ({step})", "role": role,
                  "userID": f"{CHECK_PREFIX}{step}"}
        browser = self.client()
        url = self.bbb.api_base + "join?" + signed_query("join", params, self.bbb.secret.get_secret_value(),
                                                        self.bbb.checksum)
        token, hops = "", []
        for _ in range(5):  # bbb-web, or Scalelite then bbb-web: follow by hand, the jar keeps the cookies
            try:
                answer = browser.get(url)
            except httpx.HTTPError as exc:
                raise StepFailed(f"the join failed after {len(hops)} redirect(s): {type(exc).__name__}") from None
            token = token or (parse_qs(urlsplit(url).query).get("sessionToken") or [""])[0]
            if answer.status_code not in (301, 302, 303, 307, 308):
                break
            url = urljoin(url, answer.headers.get("location", ""))
            hops.append(_public(url))
        else:
            raise StepFailed("the join redirected more than 5 times", seen_hops=hops)
        if not token:
            raise StepFailed(f"the join did not lead to a client URL with a sessionToken (HTTP {answer.status_code}: "
                             f"{shown(answer.content)})", "check [bbb] url and that the meeting exists")
        if answer.status_code >= 400:
            raise StepFailed(f"the client page {_public(url)} answered HTTP {answer.status_code}")
        cookie = next((c for c in browser.cookies.jar if c.name == "JSESSIONID"), None)
        if cookie is None:
            raise StepFailed("the join set no JSESSIONID cookie; bbb-web's session check will refuse every "
                             "request", "check that nothing between the browser and bbb-web drops Set-Cookie")
        self.users[role] = Joined(role, browser, token, cookie.value or "", cookie.path, bool(cookie.secure), url)
        return Verdict(step, "ok", f"test {step} joined (302 to the client, JSESSIONID Path={cookie.path}"
                       f"{', Secure' if cookie.secure else ''})", seen={"redirects": hops, "cookie_path": cookie.path})

    def step_moderator(self) -> Verdict:
        """A test moderator joins."""
        return self._join("MODERATOR")

    def step_viewer(self) -> Verdict:
        """A test viewer joins."""
        return self._join("VIEWER")

    def session_check(self, user: Joined) -> httpx.Response:
        """bbb-web's checkGraphqlAuthorization for ``user``, as the invite service asks it."""
        return self.get(self.bbb.connection_base + "checkGraphqlAuthorization",
                        headers={"x-session-token": user.token, "User-Agent": SESSION_CHECK_AGENT,
                                 "Accept": "application/json", "Cookie": f"JSESSIONID={user.cookie}"})

    def step_session_check(self) -> Verdict:
        """``checkGraphqlAuthorization``: its shape, and that it tells the moderator from the viewer."""
        answer = self.session_check(self.users["MODERATOR"])
        names = sorted(k.title() for k in answer.headers if k.lower() in _IDENTITY_HEADERS)
        seen = {"status": answer.status_code, "identity_headers": names, "body": shown(answer.content)}
        facts = session_facts(answer) if answer.status_code == 200 else None
        if facts is None:
            raise StepFailed(f"checkGraphqlAuthorization answered HTTP {answer.status_code} in no known shape "
                             f"(identity headers: {', '.join(names) or 'none'}; body: {shown(answer.content)})",
                             "teachers cannot be identified: check [bbb] web_url points at bbb-web, and report "
                             "this BigBlueButton version", **seen)
        viewer = session_facts(self.session_check(self.users["VIEWER"]))
        if not facts.moderator or viewer is None or viewer.moderator:
            raise StepFailed("the session check does not tell the moderator from the viewer", **seen)
        self.facts, self.shape = facts, facts.shape
        how = ("a JSON body of Hasura variables, no identity headers: the service finds the meeting with "
               "getMeetings" if facts.shape == "A" else f"headers {', '.join(names)}")
        return Verdict("session_check", "ok", f"session check shape {facts.shape}: {how}",
                       seen={**seen, "shape": facts.shape})

    def step_user_id(self) -> Verdict:
        """``getMeetingInfo`` lists the session check's user as MODERATOR of the same meeting."""
        assert self.facts is not None
        root = self.api("getMeetingInfo", {"meetingID": self.meeting_id})
        if root.findtext("returncode") != "SUCCESS":
            raise StepFailed(f"getMeetingInfo failed: {root.findtext('messageKey')}")
        meeting = parse_meeting(root, self.meeting_id)
        roles = {a.user_id: a.role for a in meeting.attendees}
        seen = {"attendees": roles, "session_user": self.facts.user_id}
        if self.facts.internal_meeting_id and self.facts.internal_meeting_id != meeting.internal_id:
            raise StepFailed(f"the session check names meeting {self.facts.internal_meeting_id}, getMeetingInfo "
                             f"{meeting.internal_id}", **seen)
        if roles.get(self.facts.user_id) != "MODERATOR":
            raise StepFailed(f"getMeetingInfo lists {roles or 'nobody'}, not the session check's user "
                             f"{self.facts.user_id} as MODERATOR: the service would refuse every teacher",
                             "report this BigBlueButton version", **seen)
        return Verdict("user_id", "ok", f"getMeetingInfo userID = User-Id ({self.facts.user_id}, MODERATOR)", seen=seen)

    def step_cleanup(self) -> Verdict:
        """The throwaway meeting is ended."""
        root = self.api("end", {"meetingID": self.meeting_id})
        if root.findtext("returncode") != "SUCCESS":
            raise StepFailed(f"could not end {self.meeting_id}: {root.findtext('messageKey')}",
                             "it ends by itself when empty; nothing to do")
        return Verdict("cleanup", "ok", f"throwaway meeting {self.meeting_id} ended")


_IDENTITY_HEADERS = frozenset({"meeting-id", "meeting-external-id", "user-id", "user-external-id", "user-name",
                               "user-is-moderator", "user-is-presenter", "user-notes-enabled"})


def _public(url: str) -> str:
    """``url`` without its query (join URLs carry checksums and tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _xml(answer: httpx.Response, what: str) -> ET.Element:
    if answer.status_code != 200:
        raise StepFailed(f"{what} answered HTTP {answer.status_code}: {shown(answer.content)}",
                         "check [bbb] url (it should end in /bigbluebutton/)", status=answer.status_code)
    try:
        return ET.fromstring(answer.content)
    except ET.ParseError:
        raise StepFailed(f"{what} answered something that is not bbb-web's XML: {shown(answer.content)}",
                         "check [bbb] url", body=shown(answer.content)) from None


#: Each step and the steps it needs.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("api", ()), ("checksum", ("api",)), ("meeting", ("checksum",)), ("moderator", ("meeting",)),
    ("viewer", ("meeting",)), ("session_check", ("moderator", "viewer")), ("user_id", ("session_check",)),
    ("manifest", ()), ("service", ()), ("nginx", ("session_check", "service")), ("cookie", ("nginx",)),
    ("directory", ()), ("cleanup", ("meeting",)),
)


def run_steps(probe: Probe, steps: dict[str, Callable[[], Verdict]]) -> list[Verdict]:
    """Run ``steps`` in :data:`STEPS` order; a step whose prerequisite did not pass is skipped."""
    verdicts: dict[str, Verdict] = {}
    for name, needs in STEPS:
        missing = [n for n in needs if verdicts.get(n) is None or verdicts[n].status not in ("ok", "warn")]
        if missing:
            verdicts[name] = Verdict(name, "skip", f"not run: needs {', '.join(missing)}")
            continue
        try:
            verdicts[name] = steps[name]()
        except StepFailed as exc:
            verdicts[name] = Verdict(name, "fail", exc.summary, exc.fix, exc.seen)
        except Exception as exc:  # noqa: BLE001 - any surprise is a failed step, never a traceback
            verdicts[name] = Verdict(name, "fail", f"unexpected {type(exc).__name__}: {shown(str(exc))}",
                                     "report this with the output of --json")
    return [verdicts[name] for name, _ in STEPS]


def render(verdicts: list[Verdict], as_json: bool) -> str:
    """One line per step (and its fix), or the JSON document for scripts."""
    ok = all(v.status in ("ok", "warn") for v in verdicts)
    if as_json:
        return json.dumps({"ok": ok, "steps": [asdict(v) for v in verdicts]}, indent=2, default=str)
    lines = []
    for v in verdicts:
        lines.append(f"[{v.status.upper():>4}] {v.step}: {v.summary}")
        if v.fix and v.status in ("fail", "warn"):
            lines.append(f"       fix: {v.fix}")
    lines.append("The invite flow can work on this server." if ok else "The invite flow cannot work yet: fix the "
                 "failed steps above and run the check again.")
    return "\n".join(lines)


def check_from_cli(config_path: str, *, as_json: bool = False, public_url: str | None = None,
                   manifest_url: str | None = None, service_url: str = "http://127.0.0.1:8091",
                   client_sdk: str | None = None) -> int:
    """``roomagent invite check``: exit 0 when the whole flow can work, 1 when not, 78 on a bad config."""
    from roomagent.configload import ConfigError
    from roomagent.invite.check_site import site_steps
    from roomagent.invite.settings import load_settings

    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        print(f"invite check: {exc}", file=sys.stderr)
        return 78
    origin = _origin(settings.bbb.web_url or settings.bbb.url)
    public = (public_url or origin).rstrip("/")
    probe = Probe(settings, public_url=public, manifest_url=manifest_url or f"{public}/plugins/roomagent/manifest.json",
                  service_url=service_url, client_sdk=client_sdk)
    try:
        verdicts = run_steps(probe, site_steps(probe))
    finally:
        probe.close()
    print(render(verdicts, as_json))
    return 0 if all(v.status in ("ok", "warn") for v in verdicts) else 1


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
