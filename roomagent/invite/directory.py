"""The invite service's calls to directories (DESIGN.md §3.1 and README "Meeting-scoped relay").

The default directory lists the institutions (``/server``); each institution's own directory (the
``url`` of its entry) mints codes (``POST /meeting``) and relays commands to the room that redeemed one
(``/meeting/status``, ``/meeting/command``), each with that institution's bearer token. Tokens and codes
are never logged; directory failures become :class:`InviteError` with the contract's codes.

``POST /meeting/command`` waits longer than the other calls (``command_timeout_s``): the directory itself
waits up to its ``relay_timeout_s`` for the room, and a silent room must come back as the relay's 504
(``timeout``), not as a directory that "cannot be reached". A command whose answer still does not come
in time was delivered to a directory that answers nothing: ``timeout`` too, not ``directory_unavailable``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from roomagent.core.hosts import url_host
from roomagent.invite.errors import InviteError

log = logging.getLogger("roomagent.invite.directory")

MAX_ANSWER_BYTES = 1024 * 1024


def _unavailable(base: str) -> InviteError:
    return InviteError(502, "directory_unavailable",
                       f"The directory at {url_host(base) or base} cannot be reached right now; try again later.")


def _bad(base: str, what: str) -> InviteError:
    return InviteError(502, "directory_error", f"The directory at {url_host(base) or base} {what}.")


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["meta"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {answer.status_code}"


def _no_relay(base: str) -> InviteError:
    # Permanent until the directory's operator configures a broker: saying "try again" would mislead.
    return InviteError(501, "relay_not_configured",
                       f"Rooms of the directory at {url_host(base) or base} cannot be controlled from the meeting: "
                       "that directory relays no commands (it has no MQTT broker configured). Ask its "
                       "administrator; the room's own panel still works.")


class DirectoryClient:
    """Calls to directories through one ``httpx.AsyncClient``; see the module docstring for the timeouts."""

    def __init__(self, client: httpx.AsyncClient, timeout_s: float, command_timeout_s: float | None = None) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.command_timeout_s = command_timeout_s if command_timeout_s is not None else timeout_s

    async def _request(self, method: str, base: str, path: str, *, timeout_s: float | None = None,
                       **kwargs: Any) -> httpx.Response:
        wait = timeout_s if timeout_s is not None else self.timeout_s
        try:
            answer = await self.client.request(method, base.rstrip("/") + path, timeout=wait, **kwargs)
        except httpx.ReadTimeout:
            log.warning("directory %s: %s %s: no answer within %.0f s", url_host(base), method, path, wait)
            if path == "/meeting/command":
                raise InviteError(504, "timeout", "Neither the room nor its directory answered in time.") from None
            raise _unavailable(base) from None
        except httpx.TimeoutException:
            log.warning("directory %s: %s %s timed out", url_host(base), method, path)
            raise _unavailable(base) from None
        except httpx.HTTPError as exc:
            log.warning("directory %s: %s %s failed: %s", url_host(base), method, path, type(exc).__name__)
            raise _unavailable(base) from None
        if len(answer.content) > MAX_ANSWER_BYTES:
            raise _bad(base, "answered far too much")
        return answer

    @staticmethod
    def _data(base: str, answer: httpx.Response) -> Any:
        try:
            return answer.json()["data"]
        except (ValueError, KeyError, TypeError):
            raise _bad(base, "answered something that is not a directory answer") from None

    async def servers(self, base: str, *, search: str, page: int, per_page: int,
                      default: str | None) -> tuple[list[dict[str, str]], int]:
        """One page of ``GET /server`` (default first, then by name) and the total."""
        params = {"page": str(page), "per_page": str(per_page), "search": search}
        if default:
            params["default-server"] = default
        answer = await self._request("GET", base, "/server", params=params)
        if answer.status_code >= 500:
            raise _unavailable(base)
        if answer.status_code != 200:
            raise _bad(base, f"refused the server list: {_message(answer)}")
        data = self._data(base, answer)
        try:
            # The seed spells it "severs"; accept both (DESIGN.md §3.1).
            items = data.get("severs", data.get("servers"))
            servers = [{"id": str(s["id"]), "name": str(s["name"]), "url": str(s["url"])} for s in items]
            total = int(answer.json()["meta"].get("total", len(servers)))
        except (AttributeError, KeyError, TypeError, ValueError):
            raise _bad(base, "sent a server list this service cannot read") from None
        return servers, total

    async def server(self, base: str, server_id: str) -> dict[str, str] | None:
        """``GET /server/{id}``, or ``None`` when the directory does not list it."""
        answer = await self._request("GET", base, f"/server/{httpx.URL(server_id).path}")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise _unavailable(base) if answer.status_code >= 500 else _bad(base, f"refused: {_message(answer)}")
        data = self._data(base, answer)
        try:
            return {"id": str(data["id"]), "name": str(data["name"]), "url": str(data["url"])}
        except (KeyError, TypeError):
            raise _bad(base, "sent a server entry this service cannot read") from None

    async def create_code(self, base: str, token: str, join_url: str) -> tuple[str, str]:
        """``POST /meeting``: the code and its expiry for ``join_url``."""
        answer = await self._request("POST", base, "/meeting", json={"data": {"join_url": join_url}},
                                     headers={"Authorization": f"Bearer {token}"})
        if answer.status_code == 401:
            log.error("directory %s refused this service's token", url_host(base))
            raise _bad(base, "refused this BigBlueButton's token; tell the administrator")
        if answer.status_code >= 500:
            raise _unavailable(base)
        if answer.status_code != 200:
            raise _bad(base, f"refused the invitation: {_message(answer)}")
        data = self._data(base, answer)
        try:
            return str(data["code"]), str(data["expires"])
        except (KeyError, TypeError):
            raise _bad(base, "sent no code") from None

    async def status(self, base: str, token: str, code: str) -> dict[str, Any] | None:
        """``GET /meeting/status`` of ``code``; ``None`` when the directory no longer knows it."""
        answer = await self._request("GET", base, "/meeting/status",
                                     headers={"Authorization": f"Bearer {token}", "Code": code})
        if answer.status_code == 404:
            return None
        if answer.status_code >= 500:
            raise _unavailable(base)
        if answer.status_code != 200:
            raise _bad(base, f"refused the status request: {_message(answer)}")
        data = self._data(base, answer)
        if not isinstance(data, dict):
            raise _bad(base, "sent a status this service cannot read")
        return data

    async def command(self, base: str, token: str, code: str, command: dict[str, Any]) -> dict[str, Any]:
        """``POST /meeting/command``: the room's reply, or :class:`InviteError` with the contract's code."""
        answer = await self._request("POST", base, "/meeting/command", json=command,
                                     headers={"Authorization": f"Bearer {token}", "Code": code},
                                     timeout_s=self.command_timeout_s)
        status = answer.status_code
        if status == 200:
            reply = self._data(base, answer)
            if not isinstance(reply, dict):
                raise _bad(base, "sent a reply this service cannot read")
            return reply
        message = _message(answer)
        if status == 404:
            raise InviteError(410, "room_left", "The room is no longer reachable through this invitation.")
        if status == 409:
            raise InviteError(409, "room_not_joined", "The room has not joined yet: type the code on the room's panel.")
        if status == 410:
            raise InviteError(410, "room_left", "The room's invitation has expired; invite it again.")
        if status == 422:
            raise InviteError(422, "invalid", f"The directory refused the command: {message}")
        if status == 504:
            raise InviteError(504, "timeout", "The room did not answer in time.")
        if status == 501:
            raise _no_relay(base)
        if status == 503:
            raise InviteError(503, "relay_unavailable", "Room control is unavailable right now; try again shortly.",
                              {"Retry-After": "5"})
        if status >= 500:
            raise _unavailable(base)
        raise _bad(base, f"refused the command: {message}")
