"""HTTP client of a directory (MediaAuthService, DESIGN.md §3.1): redeem codes, list meeting servers.

Synchronous on purpose: the agent calls it from a worker thread and hands the result to Qt's loop.
Every failure is one of the :class:`DirectoryError` subclasses, so callers can tell a wrong code
(:class:`CodeNotFound`), a back-off order (:class:`RateLimited`), a directory that is down
(:class:`DirectoryUnavailable`, transient: retry later; its subclass :class:`CertificateError` is a
configuration problem) and one that answers nonsense (:class:`BadResponse`, a configuration or
compatibility problem: report it). A peer that does not speak HTTP at all, or drops the connection,
counts as unavailable.

TLS certificates are always verified, against the system's trust store or the given ``ca_bundle``.

A typed code that cannot be a code (wrong length, letters outside the alphabet) raises
:class:`CodeNotFound` without any request: the directory would answer 404 anyway, and the attempt does
not count against the room's brute-force budget.

A client built with ``room_id`` (and ``room_name``) names the room when redeeming (``Room-Id``,
``Room-Name`` headers), so the meeting server that created the code can reach this room through the
directory's meeting-scoped relay. With ``secret_file`` as well it proves who it is (``Authorization:
Bearer <secret>``, README "Security model"): the directory then counts only this room's own failures
against it. The file is read for every redemption, so a rotated secret needs no restart; a file that went
missing raises :class:`RoomSecretError`, a secret the directory refuses :class:`CredentialRefused`.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import ssl
import time
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from roomagent import __version__
from roomagent.core.codes import normalize_code
from roomagent.core.ids import ROOM_ID
from roomagent.directory.secret import read_secret

#: Answers larger than this are not read: a directory answer is a few hundred bytes.
MAX_RESPONSE_BYTES = 1024 * 1024
#: Back-off when a 429 carries no usable Retry-After: the directory's rate window is one minute.
DEFAULT_RETRY_AFTER_S = 60.0
#: What the directory accepts as ``Room-Id``.
#: Longest ``Room-Name`` the directory accepts (characters, before percent-encoding); longer ones are cut.
MAX_ROOM_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DirectoryError(Exception):
    """Base of every error this client raises."""


class CodeNotFound(DirectoryError):
    """Unknown, malformed, expired or already used code (the directory does not say which)."""


class ServerNotFound(DirectoryError):
    """``get_server`` for an id the directory does not know."""


class RateLimited(DirectoryError):
    """Too many failed redemptions from this room; wait ``retry_after`` seconds."""

    def __init__(self, retry_after: float = DEFAULT_RETRY_AFTER_S, message: str = "too many failed attempts") -> None:
        super().__init__(f"{message}; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class DirectoryUnavailable(DirectoryError):
    """Connection refused, timeout, broken connection or a 5xx answer: transient, retry later."""


class CertificateError(DirectoryUnavailable):
    """The directory's TLS certificate did not verify: a configuration problem, not a passing one."""


class RoomSecretError(DirectoryError):
    """The room's ``secret_file`` cannot be used (missing, unreadable, empty): a configuration problem."""


class CredentialRefused(DirectoryError):
    """401: the directory did not accept this room's credential (or wants one): a configuration problem."""


class BadResponse(DirectoryError):
    """An answer that is not the directory API's: wrong status, not JSON, or not the seed's shape."""


class JoinTicket(BaseModel):
    """What a redeemed code stands for."""

    model_config = ConfigDict(frozen=True)

    join_url: str = Field(min_length=1)


class ServerInfo(BaseModel):
    """One meeting server offered by the directory."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    url: str

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Directories backed by a database may send numeric ids.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ServerPage(BaseModel):
    """One page of ``GET /server``; the seed's string figures are read as numbers."""

    model_config = ConfigDict(frozen=True)

    servers: list[ServerInfo]
    total: int
    per_page: int
    current_page: int
    start: int
    end: int


class _Redeemed(BaseModel):
    data: JoinTicket


class _ServerOne(BaseModel):
    data: ServerInfo


class _ServerListData(BaseModel):
    servers: list[ServerInfo] | None = None
    severs: list[ServerInfo] | None = None  # the seed's own spelling


class _ServerList(BaseModel):
    data: _ServerListData
    meta: dict[str, Any] = Field(default_factory=dict)


def parse_retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); the default when unusable."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER_S
        if when is None or when.tzinfo is None:
            return DEFAULT_RETRY_AFTER_S
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER_S
    return max(0.0, seconds)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # cause chains are short; the bound guards against cycles
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _meta_int(meta: dict[str, Any], key: str, fallback: int) -> int:
    value = meta.get(key)
    if value is None:
        return fallback
    try:
        return int(str(value).strip())
    except ValueError:
        raise BadResponse(f"meta.{key} is not a number: {value!r}") from None


class DirectoryClient:
    """A directory at ``base_url`` (``https://directory.example.org``), spoken to over httpx.

    ``ca_bundle`` is a PEM file of the CAs to trust instead of the system's; ``timeout_s`` bounds
    connecting and each read; ``transport`` replaces httpx's (tests). ``room_id`` (``[a-z0-9-]{1,64}``,
    else ``ValueError``) and ``room_name`` are sent with every redemption; the name is percent-encoded
    UTF-8, with control characters turned into spaces and cut to :data:`MAX_ROOM_NAME` characters, so
    that it can never make the directory refuse a redemption. ``secret_file`` (needs ``room_id``) holds
    the room's directory secret, sent as ``Authorization: Bearer`` with every redemption.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ca_bundle: str | None = None,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        room_id: str | None = None,
        room_name: str | None = None,
        secret_file: str | None = None,
    ) -> None:
        scheme = base_url.split("://", 1)[0].lower() if "://" in base_url else ""
        if scheme not in ("http", "https"):
            raise ValueError(f"directory URL must be http:// or https://, not {base_url!r}")
        if secret_file and room_id is None:
            raise ValueError("a room secret needs the room id: the directory checks it against that room")
        self._secret_file = secret_file or None
        self._room_headers: dict[str, str] = {}
        if room_id is not None:
            if not ROOM_ID.fullmatch(room_id):
                raise ValueError(f"room id must be 1-64 of a-z, 0-9 and '-', not starting with '-', not {room_id!r}")
            self._room_headers["Room-Id"] = room_id
            name = _CONTROL.sub(" ", room_name or "").strip()[:MAX_ROOM_NAME].strip()
            if name:
                self._room_headers["Room-Name"] = quote(name, safe="", errors="replace")
        # Verification is never switched off: the directory decides which meeting a lecture room joins.
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            verify=verify,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"roomagent/{__version__}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> DirectoryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def redeem(self, code: str) -> JoinTicket:
        """Trade a typed code (any case, dashes optional) for its join URL; the code is used up."""
        canonical = normalize_code(code)
        if canonical is None:
            raise CodeNotFound("not a valid code")
        headers = {"Code": canonical, **self._room_headers}
        if self._secret_file is not None:
            try:
                headers["Authorization"] = "Bearer " + read_secret(self._secret_file)
            except ValueError as exc:
                raise RoomSecretError(f"[directory] secret_file: {exc}") from None
        status, body = self._get("/meeting", headers=headers)
        if status == 404:
            raise CodeNotFound("code not found or expired")
        return self._shape(_Redeemed, body, "GET /meeting").data

    def list_servers(
        self,
        search: str | None = None,
        page: int = 1,
        per_page: int = 20,
        default_server: str | None = None,
    ) -> ServerPage:
        """One page of the directory's meeting servers (default first, then by name)."""
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if search:
            params["search"] = search
        if default_server:
            params["default-server"] = default_server
        status, body = self._get("/server", params=params)
        if status == 404:
            raise BadResponse("GET /server answered 404; is the directory URL right?")
        listing = self._shape(_ServerList, body, "GET /server")
        servers = listing.data.severs if listing.data.severs is not None else listing.data.servers
        if servers is None:
            raise BadResponse("GET /server: data has neither 'severs' nor 'servers'")
        meta = listing.meta
        return ServerPage(
            servers=servers,
            total=_meta_int(meta, "total", len(servers)),
            per_page=_meta_int(meta, "per_page", per_page),
            current_page=_meta_int(meta, "current_page", page),
            start=_meta_int(meta, "start", 1 if servers else 0),
            end=_meta_int(meta, "end", len(servers)),
        )

    def get_server(self, server_id: str) -> ServerInfo:
        """One meeting server by id; :class:`ServerNotFound` when the directory does not know it."""
        status, body = self._get("/server/" + quote(server_id, safe=""))
        if status == 404:
            raise ServerNotFound(f"no server {server_id!r}")
        return self._shape(_ServerOne, body, "GET /server/{id}").data

    def _get(self, path: str, *, headers: dict[str, str] | None = None, params: dict | None = None) -> tuple[int, Any]:
        """Status and decoded JSON body (``None`` when empty) of a GET; maps transport trouble.

        Returns only for 200 and 404; every other outcome raises.
        """
        try:
            with self._http.stream("GET", path, headers=headers, params=params) as response:
                raw = b""
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) > MAX_RESPONSE_BYTES:
                        raise BadResponse(f"GET {path}: answer larger than {MAX_RESPONSE_BYTES} bytes")
        except httpx.TimeoutException as exc:
            raise DirectoryUnavailable(f"directory timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            if _caused_by(exc, ssl.SSLCertVerificationError):
                raise CertificateError(f"directory certificate not trusted: {exc}") from exc
            raise DirectoryUnavailable(f"directory unreachable: {exc or type(exc).__name__}") from exc
        status = response.status_code
        body = self._decode(raw)
        if status == 429:
            raise RateLimited(parse_retry_after(response.headers.get("Retry-After")), self._message(body))
        if status >= 500:
            raise DirectoryUnavailable(f"directory answered {status}: {self._message(body)}")
        if status == 401 and body is not None:
            raise CredentialRefused(f"the directory refused this room's credential: {self._message(body)}")
        if status == 404:
            if body is None and raw.strip():
                raise BadResponse(f"GET {path}: 404 that is not the directory's JSON; is the directory URL right?")
            return status, body
        if status != 200:
            raise BadResponse(f"GET {path}: unexpected status {status}: {self._message(body)}")
        if body is None:
            raise BadResponse(f"GET {path}: answer is not JSON")
        return status, body

    @staticmethod
    def _decode(raw: bytes) -> Any:
        """JSON of ``raw``; ``None`` when empty or not JSON (the caller decides what that means)."""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None

    @staticmethod
    def _message(body: Any) -> str:
        """The server's ``meta.message`` (shortened), for error texts."""
        if isinstance(body, dict) and isinstance(body.get("meta"), dict) and body["meta"].get("message"):
            return str(body["meta"]["message"])[:200]
        return "(no message)"

    @staticmethod
    def _shape(model: type[BaseModel], body: Any, what: str) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise BadResponse(f"{what}: unexpected answer ({where}: {first['msg']})") from None
