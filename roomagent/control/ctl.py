"""``roomagent ctl``: command one room over MQTT, or show the state of every room.

    roomagent ctl --broker mqtts://broker:8883 --username ctl_ops --password-file F --room h0104 mute
    roomagent ctl --broker mqtt://127.0.0.1:1883 status [--all] [--json]

A command is sent as an MQTT 5 request: ResponseTopic ``<root>/_ctl/<random>/reply``, random
CorrelationData, and a MessageExpiryInterval of ``--timeout`` (a command nobody waits for any more must
not run later, when a room comes back). The reply is printed as JSON. Exit status: 0 ok, 1 error reply,
2 no reply in time, broker unreachable or refused, or an invalid command line.

``status`` reads the retained ``availability`` and ``state`` of every room and prints one line per room,
offline rooms first. Without ``--all`` it leaves out rooms that are offline *and* have no state: those
are retained wills of rooms that never got far (or were renamed or retired) and only clutter a fleet
view. Online rooms without state are always shown, since that is worth a look.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import secrets
import sys

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from roomagent.control.ctl_link import Link
from roomagent.control.parse import describe_error
from roomagent.control.policy import BrokerAddress, Topics
from roomagent.core.commands import COMMAND, COMMANDS, SPECS, CommandSpec

#: ``status``: the retained messages follow the SUBACK back to back; the burst is over once nothing
#: arrived for this long. Covers a slow link without making the command feel slow.
STATUS_QUIET_S = 0.5
DEFAULT_TIMEOUT_S = 5.0
EXIT_OK, EXIT_ERROR_REPLY, EXIT_FAILED = 0, 1, 2

#: argparse types for model fields that are not text (pydantic validates the value again).
_TYPES = {int: int, float: float}


def _arguments(spec: CommandSpec) -> list[tuple[str, str, dict]]:
    """An action's arguments from its model's fields: (field name, argparse name, options); a required field
    is positional, an optional one is ``--name``."""
    out = []
    for name, info in spec.arguments().items():
        options: dict = {}
        kind = _TYPES.get(_plain_type(info))
        if kind is not None:
            options["type"] = kind
        if name in spec.ctl_help:
            options["help"] = spec.ctl_help[name]
        out.append((name, name if info.is_required() else f"--{name}", options))
    return out


def _plain_type(info: FieldInfo) -> type | None:
    """The field's type without ``| None``."""
    kinds = [kind for kind in getattr(info.annotation, "__args__", (info.annotation,)) if kind is not type(None)]
    return kinds[0] if len(kinds) == 1 else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roomagent ctl", description="Command a room over MQTT, or list rooms.")
    parser.add_argument("--broker", required=True, help="mqtt://host:1883 or mqtts://host:8883")
    parser.add_argument("--username", default="")
    parser.add_argument("--password-file", default="", help="file holding the password")
    parser.add_argument("--ca-file", default="", help="CA certificate(s) of the broker (default: the system's)")
    parser.add_argument("--cert", default="", help="client certificate (mutual TLS)")
    parser.add_argument("--key", default="", help="client key (mutual TLS)")
    parser.add_argument("--topic-root", default="roomagent")
    parser.add_argument("--room", help="room id (for commands)")
    parser.add_argument("--meeting", help="only apply the command to this meeting")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait (default 5)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for spec in COMMANDS:
        sub = actions.add_parser(spec.action.value, help=(spec.model.__doc__ or spec.action).strip().splitlines()[0])
        for _, name, options in _arguments(spec):
            sub.add_argument(name, **options)
    status = actions.add_parser("status", help="availability and state of every room, offline rooms first")
    status.add_argument("--all", action="store_true", help="also rooms that are offline and have no state")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str]) -> int:
    """``roomagent ctl ...``: returns the exit status."""
    parser = _parser()
    try:  # argparse exits on --help and on usage errors; a caller gets the status instead
        args = parser.parse_args(argv)
        return _run(parser, args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        address = BrokerAddress.parse(args.broker)
    except ValueError as exc:
        parser.error(str(exc))
    if args.action == "status":
        return _status(args, address)
    if not args.room:
        parser.error("--room is required for commands")
    fields = {name: getattr(args, name) for name, _, _ in _arguments(SPECS[args.action])
              if getattr(args, name) is not None}
    request = {"id": f"ctl-{secrets.token_hex(4)}", "action": args.action, **fields}
    if args.meeting:
        request["meeting"] = args.meeting
    try:
        command = COMMAND.validate_python(request)
    except ValidationError as exc:
        parser.error(f"invalid command: {describe_error(exc)}")
    return _request(args, address, command)


def _fail(message: str) -> int:
    print(f"roomagent ctl: {message}", file=sys.stderr)
    return EXIT_FAILED


def _request(args: argparse.Namespace, address: BrokerAddress, command) -> int:
    topics = Topics(args.topic_root, args.room)
    reply_topic = f"{args.topic_root}/_ctl/{secrets.token_hex(8)}/reply"
    correlation = secrets.token_bytes(16)
    with Link(args, address) as link:
        problem = link.open(args.timeout) or link.subscribe([reply_topic, topics.availability], args.timeout)
        if problem:
            return _fail(problem)
        payload = json.dumps(command.model_dump(mode="json", exclude_none=True)).encode()
        problem = link.request(topics.command, payload, reply_topic, correlation,
                               expiry_s=max(1, math.ceil(args.timeout)), timeout=args.timeout)
        if problem:
            return _fail(problem)
        reply = link.wait_reply(reply_topic, correlation, args.timeout)
        if reply is None:
            seen = link.retained.get(topics.availability)
            why = {b"offline": " (the room is offline)", None: " (the room has never connected)"}.get(seen, "")
            return _fail(f"no reply from room {args.room} within {args.timeout:g} s{why}")
    try:
        body = json.loads(reply)
    except ValueError:
        print(reply.decode("utf-8", "replace"))
        return EXIT_ERROR_REPLY
    print(json.dumps(body, indent=2, ensure_ascii=False))
    if not isinstance(body, dict) or body.get("id") != command.id:
        return _fail("the reply does not answer this request")
    return EXIT_OK if body.get("status") == "ok" else EXIT_ERROR_REPLY


def _status(args: argparse.Namespace, address: BrokerAddress) -> int:
    root = args.topic_root
    with Link(args, address) as link:
        problem = link.open(args.timeout) or link.subscribe([f"{root}/+/availability", f"{root}/+/state"],
                                                            args.timeout)
        if problem:
            return _fail(problem)
        rooms: dict[str, dict] = {}
        while True:  # until the retained burst is over
            try:
                topic, payload = link.messages.get(timeout=STATUS_QUIET_S)
            except queue.Empty:
                break
            room, _, leaf = topic[len(root) + 1:].partition("/")
            if payload:  # an empty retained message is a deletion
                rooms.setdefault(room, {"availability": None, "state": None})[leaf] = payload
    rows = [_row(room, entry) for room, entry in rooms.items()]
    if not args.all:
        rows = [row for row in rows if row["availability"] == "online" or row["snapshot"] is not None]
    rows.sort(key=lambda row: (row["availability"] == "online", row["room"]))
    if args.json:
        print(json.dumps([{k: v for k, v in row.items() if k != "snapshot"} | {"snapshot": row["snapshot"]}
                          for row in rows], indent=2, ensure_ascii=False))
    elif not rows:
        print(f"no rooms under {root}/")
    else:
        _print_table(rows)
    return EXIT_OK


def _row(room: str, entry: dict) -> dict:
    availability = entry["availability"].decode("utf-8", "replace") if entry["availability"] else "?"
    snapshot = None
    if entry["state"] is not None:
        try:
            snapshot = json.loads(entry["state"])
        except ValueError:
            snapshot = {"state": "(unreadable)"}
        if not isinstance(snapshot, dict):
            snapshot = {"state": "(unreadable)"}
    snap = snapshot or {}
    meeting = snap.get("meeting") if isinstance(snap.get("meeting"), dict) else {}
    error = snap.get("error") if isinstance(snap.get("error"), dict) else None
    muted = snap.get("muted")
    return {
        "room": room,
        "availability": availability,
        "state": str(snap.get("state", "-")),
        "meeting_host": str(meeting.get("host", "-")),
        "layout": str(snap.get("layout") or "-"),
        "muted": {True: "yes", False: "no"}.get(muted, "-"),
        "error": f"{error.get('code', '?')}: {error.get('message', '')}".rstrip(": ")[:60] if error else "-",
        "snapshot": snapshot,
    }


_COLUMNS = [("room", "ROOM"), ("availability", "AVAILABILITY"), ("state", "STATE"),
            ("meeting_host", "MEETING HOST"), ("layout", "LAYOUT"), ("muted", "MUTED"), ("error", "ERROR")]


def _print_table(rows: list[dict]) -> None:
    widths = [max(len(title), *(len(row[key]) for row in rows)) for key, title in _COLUMNS]
    for values in [[title for _, title in _COLUMNS], *([row[key] for key, _ in _COLUMNS] for row in rows)]:
        print("  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip())
