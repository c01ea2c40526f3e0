"""directory.toml: defaults, environment overrides, and exit 78 with key paths on every error."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.directory.server.main import serve_from_cli
from roomagent.directory.server.settings import DirectorySettings, load_settings
from roomagent.serving import free_port

#: Interpreter start and imports of a fresh process; generous for slow CI, not a timing check.
STARTUP_TIMEOUT_S = 30.0
EXAMPLE = Path(__file__).resolve().parents[2] / "kiosk" / "directory.example.toml"

MINIMAL = """
allowed_join_hosts = ["*.example.org"]
[tokens]
bbb = "0123456789abcdef0123"
"""

BROKEN = """
code_ttl_s = 0
allowed_join_hosts = ["*.example.org", "*", "bad host"]
redeem_limit_per_min = "lots"
store = "postgres://db"
trusted_proxies = ["10.0.0.0/8", "not-an-ip"]
code_ttl = 5
[tokens]
bbb = "short"
[[servers]]
id = "a b"
name = "A"
url = "javascript:alert(1)"
"""

BROKEN_PATHS = [
    "code_ttl_s:",
    "allowed_join_hosts[1]:",
    "allowed_join_hosts[2]:",
    "redeem_limit_per_min:",
    "store:",
    "trusted_proxies[1]:",
    "code_ttl:",
    "tokens.bbb:",
    "servers[0].id:",
    "servers[0].url:",
]


@pytest.fixture
def write(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "directory.toml"
        path.write_text(text)
        return path

    return write


def test_shipped_example_is_valid():
    settings = load_settings(EXAMPLE)
    assert settings.store == "memory"
    assert settings.default_server in {s.id for s in settings.servers}
    assert set(settings.tokens) == {"bbb-main", "jitsi"}


def test_defaults(write):
    settings = load_settings(write(MINIMAL))
    assert (settings.code_ttl_s, settings.redeem_limit_per_min, settings.store) == (300, 10, "memory")
    assert settings.servers == [] and settings.default_server is None and settings.trusted_proxies == []


def test_environment_overrides_the_file(write, monkeypatch):
    path = write("code_ttl_s = 120\n" + MINIMAL)
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_CODE_TTL_S", "60")
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_ALLOWED_JOIN_HOSTS", '["meet.example.net"]')
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_TOKENS__JITSI", "fedcba9876543210fedc")
    settings = load_settings(path)
    assert settings.code_ttl_s == 60
    assert settings.allowed_join_hosts == ["meet.example.net"]
    assert set(settings.tokens) == {"bbb", "jitsi"}  # tables merge: the file's entry stays


def test_settings_are_built_in_code_too():
    settings = DirectorySettings(allowed_join_hosts=["*.Example.ORG."], tokens={"x": "0123456789abcdef"})
    assert settings.allowed_join_hosts == ["*.example.org"]
    assert settings.store_kind == "memory"


def test_every_error_is_reported_with_its_key_path(write, capsys):
    assert serve_from_cli(str(write(BROKEN)), "127.0.0.1", 0) == EX_CONFIG
    err = capsys.readouterr().err
    for path in BROKEN_PATHS:
        assert f"  {path}" in err, f"{path} missing from:\n{err}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("allowed_join_hosts = [", "not valid TOML"),
        ("[tokens]\nbbb = '0123456789abcdef'", "allowed_join_hosts: Field required"),
        ("allowed_join_hosts = []\n[tokens]\nbbb = '0123456789abcdef'", "allowed_join_hosts:"),
        ('allowed_join_hosts = ["a.example.org"]\n[tokens]', "tokens:"),
        (MINIMAL.replace("[tokens]", 'default_server = "x"\n[tokens]'), "default_server:"),
        (
            MINIMAL + '[[servers]]\nid="a"\nname="A"\nurl="https://a.example.org"\n'
            '[[servers]]\nid="a"\nname="B"\nurl="https://b.example.org"\n',
            "servers: duplicate server id(s): a",
        ),
    ],
)
def test_single_errors(write, text, expected):
    with pytest.raises(ConfigError) as info:
        load_settings(write(text))
    assert any(expected in line for line in info.value.errors), info.value.errors


def test_bad_environment_value_names_the_variable(write, monkeypatch, capsys):
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_REDEEM_LIMIT_PER_MIN", "0")
    assert serve_from_cli(str(write(MINIMAL)), "127.0.0.1", 0) == EX_CONFIG
    err = capsys.readouterr().err
    assert "ROOMAGENT_DIRECTORY_REDEEM_LIMIT_PER_MIN" in err and "redeem_limit_per_min:" in err


def test_missing_file(tmp_path, capsys):
    assert serve_from_cli(str(tmp_path / "absent.toml"), "127.0.0.1", 0) == EX_CONFIG
    assert "file not found" in capsys.readouterr().err


def test_command_line_exits_78(write):
    path = write(BROKEN)
    result = subprocess.run(
        [sys.executable, "-m", "roomagent", "directory", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == EX_CONFIG, result.stderr
    assert f"configuration error in {path}" in result.stderr
    for key in BROKEN_PATHS:
        assert key in result.stderr


def test_command_line_serves_and_stops_cleanly_on_sigterm(write):
    path = write(MINIMAL)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "roomagent", "directory", "--config", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "directory did not come up"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "directory ready: memory store" in err
