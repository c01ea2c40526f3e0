"""One error shape everywhere: ``{"data": null, "meta": {"status": "error", "message": "..."}}``.

Covers our own refusals, FastAPI's validation errors, Starlette's 404/405, store failures and anything
unexpected (500, logged with its traceback but never shown to the caller).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from roomagent.configload import key_path
from roomagent.directory.server.store import StoreFull, StoreUnavailable

log = logging.getLogger("roomagent.directory")

STORE_UNAVAILABLE = (503, "directory store unavailable; try again shortly", {"Retry-After": "5"})
STORE_FULL = (503, "directory is full; try again later", {"Retry-After": "30"})
INTERNAL = (500, "internal error", None)


class ApiError(StarletteHTTPException):
    """An answer with the error shape: a status, a human message and optional headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)


def error_body(message: str) -> bytes:
    """The JSON bytes of an error answer."""
    return json.dumps({"data": None, "meta": {"status": "error", "message": message}}, separators=(",", ":")).encode()


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error answer as a Starlette response."""
    return Response(error_body(message), status_code=status, headers=headers, media_type="application/json")


def validation_message(errors: Iterable[dict[str, Any]], where: str = "") -> str:
    """pydantic/FastAPI errors as ``place: message`` phrases joined by ``; ``.

    ``where`` is the part of the request the locations are relative to (``body``, ``query``...);
    FastAPI's own errors carry it as their first location element instead.
    """
    lines = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        part, rest = where, loc
        if not part and loc and loc[0] in ("body", "query", "header", "path"):
            part, rest = loc[0], loc[1:]
        if err.get("type") == "json_invalid":
            lines.append("request body is not valid JSON")
        elif part == "body" and not rest:
            lines.append("request body: " + ("missing" if err.get("type") == "missing" else err.get("msg", "invalid")))
        elif part in ("query", "header", "path"):
            lines.append(f"{part} parameter {key_path(rest)}: {err.get('msg', 'invalid')}")
        else:
            lines.append(f"{key_path(rest)}: {err.get('msg', 'invalid')}")
    return "; ".join(dict.fromkeys(lines)) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every failure the error shape."""

    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such resource"
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, validation_message(exc.errors()))

    async def store_unavailable(_request: Request, exc: StoreUnavailable) -> Response:
        log.error("store unavailable: %s", exc)
        return error_response(*STORE_UNAVAILABLE)

    async def store_full(_request: Request, exc: StoreFull) -> Response:
        log.error("store full: %s", exc)
        return error_response(*STORE_FULL)

    async def unexpected(_request: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc)
        return error_response(*INTERNAL)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StoreUnavailable, store_unavailable)
    app.add_exception_handler(StoreFull, store_full)
    app.add_exception_handler(Exception, unexpected)
