"""The ``roomagent`` command line. Sub-commands import their edge lazily so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import logging
import sys

from roomagent import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roomagent", description="Lecture-room appliance agent.")
    parser.add_argument("--version", action="version", version=f"roomagent {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the room agent (production entry point)")
    p.add_argument("--config", help="room profile (default /etc/roomagent/room.toml + room.d/*.toml)")
    p.add_argument("--offscreen", metavar="DIR", help="no windows: render offscreen, write screenshots to DIR")

    p = sub.add_parser("check-config", help="validate a room profile; exit 78 on errors")
    p.add_argument("--config", help="room profile (default /etc/roomagent/room.toml + room.d/*.toml)")

    p = sub.add_parser("doctor", help="check this room: screens, capture, directory, broker, clock, disk")
    p.add_argument("--config", help="room profile (default /etc/roomagent/room.toml + room.d/*.toml)")
    p.add_argument("--json", action="store_true", help="machine-readable report")

    p = sub.add_parser("directory", help="run the reference directory server (MediaAuthService); "
                       "`roomagent directory room --help`: rooms' secrets")
    p.add_argument("--config", required=True, help="directory.toml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)

    p = sub.add_parser("invite", help="run the invite service (backend of the BigBlueButton plugin), or check it")
    p.add_argument("task", nargs="?", choices=["serve", "check"], default="serve",
                   help="serve (default), or check: test the whole invite flow against this BigBlueButton server")
    p.add_argument("--config", required=True, help="invite.toml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8091)
    p.add_argument("--json", action="store_true", help="check: machine-readable report")
    p.add_argument("--public-url", help="check: the BBB host as browsers reach it (default: origin of [bbb] url)")
    p.add_argument("--manifest-url", help="check: the plugin manifest (default: <public-url>/plugins/roomagent/manifest.json)")
    p.add_argument("--service-url", help="check: the invite service itself (default: http://<host>:<port>)")
    p.add_argument("--client-sdk-version", help="check: the plugin SDK version of this server's html5 client")

    sub.add_parser("ctl", help="remote-control rooms over MQTT; `roomagent ctl --help`")

    p = sub.add_parser("fleet", help="run the fleet dashboard for operators (web, live over MQTT)")
    p.add_argument("task", nargs="?", choices=["serve", "hash-password"], default="serve",
                   help="serve (default), or hash-password: print the argon2id hash of a password read from stdin")
    p.add_argument("--config", help="fleet.toml (see kiosk/fleet.example.toml)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)

    p = sub.add_parser("kiosk-config", help="print (or write) the kiosk session's sway configuration")
    p.add_argument("--config", help="room profile (default /etc/roomagent/room.toml + room.d/*.toml)")
    p.add_argument("--output", metavar="FILE", help="write the configuration to FILE instead of stdout")
    p.add_argument("--agent", default="/opt/roomagent/bin/roomagent",
                   help="the roomagent program sway starts (default: %(default)s); '' starts none")

    p = sub.add_parser("demo", help="the whole flow on this machine: directory, demo meeting, kiosk")
    p.add_argument("--offscreen", metavar="DIR", help="no windows: render offscreen, write screenshots to DIR")
    p.add_argument("--screens", type=int, default=2, help="number of room screens (default 2)")
    p.add_argument("--code-only", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ctl"]:
        # ctl has its own parser (options before and after the action); hand it everything.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        from roomagent.control.ctl import main as ctl_main

        return ctl_main(argv[1:])
    if argv[:2] == ["directory", "room"]:
        # Rooms' secrets: a small tool of its own (add/rotate/retire/remove/list), no server started.
        from roomagent.directory.server.rooms_cli import main as rooms_main

        return rooms_main(argv[2:])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL at INFO; join URLs carry checksums and tokens, which never go to logs.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "directory":
        from roomagent.directory.server.main import serve_from_cli

        return serve_from_cli(args.config, args.host, args.port)
    if args.command == "invite" and args.task == "check":
        from roomagent.invite.check import check_from_cli

        return check_from_cli(args.config, as_json=args.json, public_url=args.public_url,
                              manifest_url=args.manifest_url,
                              service_url=args.service_url or f"http://{args.host}:{args.port}",
                              client_sdk=args.client_sdk_version)
    if args.command == "invite":
        from roomagent.invite.main import serve_from_cli as serve_invite

        return serve_invite(args.config, args.host, args.port)
    if args.command == "fleet":
        from roomagent.fleet import main as fleet_main

        if args.task == "hash-password":
            return fleet_main.hash_from_cli()
        if not args.config:
            _parser().error("fleet: --config is required")
        return fleet_main.serve_from_cli(args.config, args.host, args.port)
    if args.command == "check-config":
        from roomagent.profile import check_config

        return check_config(args.config)
    if args.command == "doctor":
        from roomagent.doctor import main as doctor_main

        return doctor_main(args.config, as_json=args.json)
    if args.command == "kiosk-config":
        from roomagent.session.sway import main as kiosk_config

        return kiosk_config(args.config, output=args.output, agent=args.agent or None)
    if args.command == "run":
        from roomagent.service import run

        return run(args.config, offscreen_dir=args.offscreen)
    if args.command == "demo":
        from roomagent.demo.runner import run_demo

        return run_demo(screens=args.screens, offscreen_dir=args.offscreen)
    raise AssertionError(args.command)
