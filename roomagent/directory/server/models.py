"""Wire models of the directory API (DESIGN.md §3.1); they also document it in ``/openapi.json``.

Every answer is ``{"data": ..., "meta": {"status": "success" | "error", ...}}``, the seed's envelope.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: A join URL longer than this is refused (BBB join URLs with checksum are a few hundred characters).
MAX_JOIN_URL_LENGTH = 2048


class SuccessMeta(BaseModel):
    """``meta`` of a successful answer."""

    status: Literal["success"] = "success"


class ErrorMeta(BaseModel):
    """``meta`` of an error answer, with a human message."""

    status: Literal["error"] = "error"
    message: str


class ErrorResponse(BaseModel):
    """The one error shape used for every failure (401, 404, 413, 422, 429, 5xx)."""

    data: None = None
    meta: ErrorMeta


class JoinUrlIn(BaseModel):
    """``data`` of ``POST /meeting``."""

    join_url: str = Field(min_length=1, max_length=MAX_JOIN_URL_LENGTH, description="http(s) URL on the allow-list")


class MeetingCreateRequest(BaseModel):
    """Body of ``POST /meeting``."""

    data: JoinUrlIn


class CodeOut(BaseModel):
    """A freshly minted code and when it stops working."""

    code: str = Field(examples=["K7M-4QX-9TB"])
    expires: str = Field(description="ISO 8601 with +00:00", examples=["2023-08-31T13:23:20+00:00"])


class MeetingCreated(BaseModel):
    """Answer of ``POST /meeting``."""

    data: CodeOut
    meta: SuccessMeta = Field(default_factory=SuccessMeta)


class JoinOut(BaseModel):
    """The redeemed join URL."""

    join_url: str


class MeetingRedeemed(BaseModel):
    """Answer of ``GET /meeting``."""

    data: JoinOut
    meta: SuccessMeta = Field(default_factory=SuccessMeta)


class ServerOut(BaseModel):
    """One meeting server."""

    id: str
    name: str
    url: str


class ServerListData(BaseModel):
    """``data`` of ``GET /server``; ``severs`` is the seed's own spelling and is kept on purpose."""

    severs: list[ServerOut]


class PageMeta(BaseModel):
    """Pagination of ``GET /server``; numbers are strings, as the seed writes them."""

    status: Literal["success"] = "success"
    total: str
    per_page: str
    current_page: str
    start: str = Field(description="1-based index of the first item on this page, '0' when empty")
    end: str = Field(description="1-based index of the last item on this page, '0' when empty")


class ServerList(BaseModel):
    """Answer of ``GET /server``."""

    data: ServerListData
    meta: PageMeta


class ServerResponse(BaseModel):
    """Answer of ``GET /server/{id}``."""

    data: ServerOut
    meta: SuccessMeta = Field(default_factory=SuccessMeta)


class HealthOut(BaseModel):
    """``data`` of ``GET /healthz``."""

    status: Literal["ok"] = "ok"
    store: str


class Health(BaseModel):
    """Answer of ``GET /healthz``."""

    data: HealthOut
    meta: SuccessMeta = Field(default_factory=SuccessMeta)


class RoomOut(BaseModel):
    """The room that redeemed a code, as it named itself (``Room-Id``, ``Room-Name``)."""

    id: str = Field(examples=["h0104"])
    name: str | None = Field(examples=["Lecture hall H 0104"])


class RelayStatusOut(BaseModel):
    """``data`` of ``GET /meeting/status``."""

    status: Literal["pending", "redeemed", "expired"] = Field(
        description="pending: not redeemed yet; redeemed: the relay is open; expired: the code expired "
        "unredeemed, or the relay's lifetime (relay_ttl_s) is over"
    )
    room: RoomOut | None = Field(description="the room that redeemed the code; null before, or when it did not say")
    redeemed_at: str | None = Field(description="ISO 8601 with +00:00; null while pending")


class MeetingStatus(BaseModel):
    """Answer of ``GET /meeting/status``."""

    data: RelayStatusOut
    meta: SuccessMeta = Field(default_factory=SuccessMeta)


class RoomReplyError(BaseModel):
    """``error`` of a room's reply: a code for programs (``not_in_meeting``, ``wrong_meeting``...) and a message."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class RoomReply(BaseModel):
    """The room's own reply to a command (DESIGN.md §3.2), passed through unchanged."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: Literal["ok", "error"]
    data: dict[str, Any] | None = None
    error: RoomReplyError | None = None


class CommandRelayed(BaseModel):
    """Answer of ``POST /meeting/command``: whatever the room answered, ``status: error`` included."""

    data: RoomReply
    meta: SuccessMeta = Field(default_factory=SuccessMeta)
