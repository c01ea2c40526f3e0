"""Turn one MQTT command payload into a command model or the error reply that refuses it.

A pure function with no I/O, so it can be fuzzed on its own: whatever the bytes are, the answer is a
:data:`~roomagent.core.commands.Command` or a :class:`~roomagent.core.commands.CommandReply` with status
``error`` (``too_large`` or ``invalid``), never an exception. Messages are short sentences for the person
who sent the command; they never carry a traceback and quote user input only in truncated form.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from roomagent.core.commands import (
    COMMAND,
    COMMANDS,
    MAX_COMMAND_BYTES,
    Command,
    CommandReply,
    ErrorCode,
    ReplyError,
)

#: User-supplied text quoted in an error message (a field name, an action) is cut to this length.
_QUOTE_MAX = 40
#: Longest request id echoed back; longer ids are not ids (the models allow 128 characters).
_ID_MAX = 128


def error_reply(request_id: str, code: ErrorCode, message: str) -> CommandReply:
    """An error reply for ``request_id``."""
    return CommandReply(id=request_id, status="error", error=ReplyError(code=code, message=message))


def parse_command(payload: bytes) -> Command | CommandReply:
    """Validate ``payload``: the command it carries, or the error reply that refuses it."""
    try:
        return _parse(payload)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; a bug still gets an answer
        return error_reply("", ErrorCode.INVALID, f"the command could not be read ({type(exc).__name__})")


def _parse(payload: bytes) -> Command | CommandReply:
    if len(payload) > MAX_COMMAND_BYTES:
        # Not parsed at all: reading the id of an oversized payload would mean parsing it.
        return error_reply("", ErrorCode.TOO_LARGE,
                           f"the command is {len(payload)} bytes; at most {MAX_COMMAND_BYTES} are accepted")
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return error_reply("", ErrorCode.INVALID, f"the command is not UTF-8 text (bad byte at offset {exc.start})")
    try:
        return COMMAND.validate_json(payload)
    except ValidationError as exc:
        return error_reply(_request_id(payload), ErrorCode.INVALID, describe_error(exc))


def _request_id(payload: bytes) -> str:
    """The payload's ``id`` when it is a JSON object with a string id, else ``""``."""
    try:
        data: Any = json.loads(payload)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict):
        value = data.get("id")
        if isinstance(value, str) and len(value) <= _ID_MAX:
            return value
    return ""


def _quote(value: object) -> str:
    text = str(value)
    if len(text) > _QUOTE_MAX:
        text = text[:_QUOTE_MAX] + "…"
    return repr(text)


def describe_error(exc: ValidationError) -> str:
    """pydantic's first error as one sentence (plus how many more there are)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    kind = first["type"]
    ctx = first.get("ctx") or {}
    # The first location item names the union member (the action); the rest is the field path.
    path = ".".join(str(part) for part in first["loc"][1:])
    field = _quote(path) if path else ""
    if kind == "json_invalid":
        text = f"the command is not valid JSON: {ctx.get('error', first['msg'])}"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        text = "the command must be a JSON object"
    elif kind == "union_tag_not_found":
        text = "the command has no 'action'"
    elif kind == "union_tag_invalid":
        known = ", ".join(repr(spec.action.value) for spec in COMMANDS)
        text = f"unknown action {_quote(ctx.get('tag', ''))}; known actions: {known}"
    elif kind == "extra_forbidden":
        text = f"unexpected field {field}"
    elif kind == "missing":
        text = f"missing field {field}"
    else:
        text = f"field {field}: {first['msg']}" if field else first["msg"]
    more = len(errors) - 1
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return text
