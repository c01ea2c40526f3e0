"""The invite service's one error shape: ``{"error": {"code": "...", "message": "..."}}`` (INVITE_API.md).

The codes are the plugin's to translate; the messages are English sentences for a person.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from roomagent.directory.server.errors import validation_message

log = logging.getLogger("roomagent.invite")


class InviteError(Exception):
    """A refusal: HTTP status, a code for programs, a message for people, optional headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error answer."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Give every failure the error shape (ours, FastAPI's validation, Starlette's 404/405, the unexpected)."""

    async def ours(_request: Request, exc: InviteError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid")
        message = {404: "There is no such endpoint.", 405: "That method is not allowed here."}.get(
            exc.status_code, str(exc.detail))
        return error_response(exc.status_code, code, message)

    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid", validation_message(exc.errors()))

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return error_response(500, "internal", "Something went wrong in the invite service; try again.")

    app.add_exception_handler(InviteError, ours)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
