"""``roomagent directory room``: provision, rotate and retire rooms' secrets in the directory's rooms file.

The rooms file (``rooms_file`` in ``directory.toml``; format in :mod:`roomagent.directory.server.rooms`)
holds only hashes. Each command changes it atomically under a lock; a running directory re-reads it on
its next redemption, so none of this needs a restart.

Rotation without downtime::

    roomagent directory room rotate h0104 --rooms-file F --secret-out new.secret   # old and new both valid
    # install new.secret on the room as its [directory] secret_file (the agent reads it per redemption)
    roomagent directory room retire h0104 --rooms-file F                           # only the new one is valid
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from roomagent.configload import EX_CONFIG
from roomagent.core.ids import ROOM_ID
from roomagent.directory.server.rooms import (
    MAX_SECRETS,
    RoomHashes,
    RoomsFileError,
    generate_secret,
    hash_secret,
    read_rooms,
    write_rooms,
)

EX_USAGE = 1


class Refused(Exception):
    """The command cannot be done as asked; the message says why, in the operator's words."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roomagent directory room",
        description="Manage rooms' secrets in the directory's rooms file (only hashes are stored).",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    helps = {
        "add": "register a room: generate its secret (the file is created when missing)",
        "rotate": "give a room a second, new secret; the old one stays valid until `retire`",
        "retire": "end a rotation: drop the room's older secret, keep the newest",
        "remove": "forget a room: its secrets stop working at once",
        "list": "the rooms and how many secrets each has",
    }
    for action, text in helps.items():
        p = sub.add_parser(action, help=text, description=text)
        if action != "list":
            p.add_argument("room", help="room id, as in the room's [room] id")
        p.add_argument("--rooms-file", required=True, help="the directory's rooms_file")
        if action in ("add", "rotate"):
            p.add_argument("--secret-out", metavar="FILE",
                           help="write the new secret to FILE (created with mode 0600, never overwritten) "
                                "instead of printing it")
    return parser


@contextlib.contextmanager
def _locked(rooms_file: Path) -> Iterator[None]:
    # Two operators (or scripts) changing the file at once would lose one's change: take turns.
    lock = rooms_file.with_name(rooms_file.name + ".lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _load(rooms_file: Path, *, create: bool) -> RoomHashes:
    if create and not rooms_file.exists():
        return {}
    return read_rooms(rooms_file)


def _write_secret(path: str, secret: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Refused(f"{path} exists; the new secret is written only to a new file") from None
    except OSError as exc:
        raise Refused(f"{path}: cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")


def _change(args: argparse.Namespace, rooms: RoomHashes) -> tuple[RoomHashes, str | None, str]:
    """The new table, the new secret (if any) and what to tell the operator."""
    room = args.room
    hashes = rooms.get(room, ())
    if args.action == "add":
        if hashes:
            raise Refused(f"room {room} is already registered; use `rotate` to give it a new secret")
        secret = generate_secret()
        return {**rooms, room: (hash_secret(secret),)}, secret, f"room {room} added"
    if not hashes:
        raise Refused(f"room {room} is not registered; `add` it first")
    if args.action == "rotate":
        if len(hashes) >= MAX_SECRETS:
            raise Refused(f"room {room} is already rotating (two secrets); `retire` the older one first")
        secret = generate_secret()
        return {**rooms, room: (*hashes, hash_secret(secret))}, secret, \
            f"room {room} has a second secret; both are valid until `retire`"
    if args.action == "retire":
        if len(hashes) < MAX_SECRETS:
            raise Refused(f"room {room} has only one secret; nothing to retire (`remove` forgets the room)")
        return {**rooms, room: hashes[-1:]}, None, f"room {room}: older secret retired, only the newest is valid"
    rest = dict(rooms)
    del rest[room]
    return rest, None, f"room {room} removed; its secrets no longer work"


def run(args: argparse.Namespace) -> int:
    """Do one action; 0 on success, 1 when refused, 78 when the rooms file is broken."""
    rooms_file = Path(args.rooms_file)
    if args.action == "list":
        rooms = read_rooms(rooms_file)
        for room in sorted(rooms):
            state = "rotating (2 secrets)" if len(rooms[room]) > 1 else "1 secret"
            print(f"{room}\t{state}")
        return 0
    if not ROOM_ID.fullmatch(args.room):
        raise Refused(f"{args.room!r} is not a room id (1-64 of a-z, 0-9 and '-', not starting with '-')")
    with _locked(rooms_file):
        rooms, secret, told = _change(args, _load(rooms_file, create=args.action == "add"))
        if secret is not None and args.secret_out:
            _write_secret(args.secret_out, secret)  # first: a hash is never registered without its secret
        write_rooms(rooms_file, rooms)
    print(told, file=sys.stderr)
    if secret is not None:
        if args.secret_out:
            print(f"secret written to {args.secret_out}", file=sys.stderr)
        else:
            print(secret)
        print("install it on the room (owner-readable only) and point [directory] secret_file at it", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """Entry point of ``roomagent directory room ...``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EX_USAGE
    except RoomsFileError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    except OSError as exc:
        print(f"error: {args.rooms_file}: {exc.strerror or exc}", file=sys.stderr)
        return EX_USAGE
