"""Privacy between meetings: after a meeting ends, nothing it stored is left on disk.

The real agent (offscreen, HOME and every XDG directory in a temporary folder) joins a meeting through
the real reference directory. The meeting page sets a cookie and writes localStorage, sessionStorage,
IndexedDB, the Cache API and a cacheable script (the HTTP cache), each value with its own random marker;
the page reports every write it could read back. The agent leaves, its browser profiles are destroyed,
the process exits — and no file under the temporary folder may contain any marker, in any encoding the
browser might use.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from roomagent.demo.runner import create_code, start_directory
from roomagent.serving import run_in_thread
from tests.appliance.storage_pages import KINDS, Markers, create_storage_app

REPO = Path(__file__).resolve().parents[2]
#: Upper bound for the whole meeting (start, join, store, leave) in software rendering; a guard only.
GUARD_S = 240


def _encodings(marker: str) -> list[bytes]:
    # Chromium keeps strings as Latin-1 or UTF-16 (LevelDB for localStorage, IndexedDB values).
    return [marker.encode("ascii"), marker.encode("utf-16-le")]


def files_containing(root: Path, markers: list[str]) -> list[tuple[str, str]]:
    """(file, marker) for every file under ``root`` that contains a marker."""
    hits = []
    needles = [(m, e) for m in markers for e in _encodings(m)]
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [(str(path), m) for m, e in needles if e in data]
    return sorted(set(hits))


def test_marker_search_finds_what_it_looks_for(tmp_path):
    # The scan below must be able to fail: a marker written in either encoding is found.
    (tmp_path / "a").write_bytes(b"xx" + "k7q".encode("utf-16-le") + b"yy")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("... z9z ...")
    assert files_containing(tmp_path, ["k7q", "z9z", "nope"]) == [(str(tmp_path / "a"), "k7q"),
                                                                  (str(tmp_path / "sub" / "b"), "z9z")]


def _markers() -> Markers:
    return Markers(*(f"privacy-{kind}-{secrets.token_hex(8)}" for kind in
                     ("cookie", "local", "session", "indexed", "cacheapi", "http")))


def test_a_profile_on_disk_would_keep_the_meeting(tmp_path):
    # The control: the same page in a profile with a storage path leaves its markers behind, so the
    # scan in the next test looks where a browser writes and in the encodings it writes in.
    markers = _markers()
    pages = run_in_thread(create_storage_app(markers))
    try:
        done = subprocess.run([sys.executable, "-m", "tests.appliance.disk_profile_child",
                               f"{pages.url}/meeting/control", f"{pages.url}/_stored", str(tmp_path / "profile")],
                              capture_output=True, text=True, timeout=GUARD_S, cwd=REPO,
                              env={**os.environ, "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"})
    finally:
        pages.stop()
    assert done.returncode == 0, done.stderr
    found = {marker for _, marker in files_containing(tmp_path, markers.all())}
    assert {markers.cookie, markers.local, markers.indexed} <= found, (found, done.stderr)


def test_nothing_of_a_meeting_remains_on_disk(tmp_path):
    markers = _markers()
    pages = run_in_thread(create_storage_app(markers))
    directory, token = start_directory("127.0.0.1")
    home = tmp_path / "home"
    home.mkdir()
    try:
        code = create_code(directory.url, token, f"{pages.url}/meeting/privacy-lecture")
        config = tmp_path / "room.toml"
        config.write_text(f"""
[room]
id = "h0104"
name = "Privacy room"
[directory]
url = "{directory.url}"
[meeting]
allowed_hosts = ["127.0.0.1"]
[[screens]]
id = "main"
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMAGENT_")}
        env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
                   XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
                   XDG_RUNTIME_DIR=str(tmp_path / "runtime"), TMPDIR=str(home / "tmp"),
                   QT_QPA_PLATFORM="offscreen")
        (tmp_path / "runtime").mkdir(mode=0o700)
        (home / "tmp").mkdir()
        log_path = tmp_path / "agent.log"
        with log_path.open("w") as log:
            done = subprocess.run([sys.executable, "-m", "tests.appliance.meeting_child", str(config), code,
                                   f"{pages.url}/_stored", str(tmp_path / "shots")],
                                  env=env, stdout=subprocess.PIPE, stderr=log, text=True, timeout=GUARD_S,
                                  cwd=REPO)
    finally:
        directory.stop()
        pages.stop()
    output = log_path.read_text()
    assert done.returncode == 0, output
    # The meeting really stored everything before it ended, and the room left it.
    assert sorted(markers.reports) == sorted(KINDS), (markers.reports, output)
    assert done.stdout.split() == ["stored", "left"], done.stdout + output
    assert "profile destroyed" in output
    # And nothing of it is on disk: cookies, storage, caches.
    assert files_containing(tmp_path, markers.all()) == [], output
