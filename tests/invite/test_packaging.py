"""The servers install and run without Qt, VLC or udev (the ``[room]`` extra is the agent's)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOM_ONLY = ("pyside6", "pyside6-essentials", "pyside6-addons", "shiboken6", "pyudev", "python-vlc")


def _name(requirement: str) -> str:
    return requirement.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()


def test_the_base_dependencies_are_the_servers_and_the_room_extra_holds_qt() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {_name(r) for r in project["dependencies"]}
    assert not base & set(ROOM_ONLY), base
    assert {"fastapi", "uvicorn", "httpx", "pydantic-settings", "redis", "paho-mqtt"} <= base
    room = {_name(r) for r in project["optional-dependencies"]["room"]}
    assert {"pyside6", "pyudev", "python-vlc"} <= room
    # The test extra installs the room part (and may add others: roomagent[room,postgres]).
    extras = [r.split("[", 1)[1].rstrip("]").split(",") for r in project["optional-dependencies"]["test"]
              if r.startswith("roomagent[")]
    assert any("room" in e for e in extras), project["optional-dependencies"]["test"]


def test_pip_would_install_the_server_part_without_qt(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                           "--report", str(report), str(REPO)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "No matching distribution" in done.stderr + done.stdout:
        pytest.skip("no package index reachable for pip's resolver")
    assert done.returncode == 0, done.stderr
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"roomagent", "fastapi", "uvicorn", "httpx"} <= names
    assert not names & set(ROOM_ONLY), sorted(names)


# Any import of these fails in the child, as on a server where they are not installed.
_BLOCKED_CHILD = textwrap.dedent('''
    import importlib.abc, sys
    BLOCKED = ("PySide6", "shiboken6", "vlc", "pyudev")
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is not installed on this server")
            return None
    sys.meta_path.insert(0, Block())
    import runpy
    sys.argv = ["roomagent", *sys.argv[1:]]
    if sys.argv[1:] == ["import"]:
        import roomagent.directory.server.main, roomagent.invite.main, roomagent.invite.app  # noqa
        import roomagent.invite.identity, roomagent.demo.fake_bbb  # noqa
        roomagent.invite.app.create_app  # noqa: B018
        assert not any(m.split(".")[0] in BLOCKED for m in sys.modules)
        print("imported")
    else:
        from roomagent.cli import main
        raise SystemExit(main())
''')


@pytest.mark.parametrize("argv", [["import"], ["directory", "--help"], ["invite", "--help"]])
def test_the_servers_run_where_qt_is_missing(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", _BLOCKED_CHILD, *argv], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert ("imported" if argv == ["import"] else "--config") in done.stdout


def test_the_blocker_does_block() -> None:
    # The child above would prove nothing if the finder let PySide6 through: the agent must fail there.
    done = subprocess.run([sys.executable, "-c", _BLOCKED_CHILD, "run", "--config", "/nonexistent"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode != 0 and "is not installed on this server" in done.stderr
