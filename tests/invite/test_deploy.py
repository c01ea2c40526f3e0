"""What an operator installs for the invite service: the example configuration and the nginx snippet (its unit:
``tests/appliance/test_server_units.py``)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from roomagent.configload import EX_CONFIG
from roomagent.invite.settings import InviteSettings, load_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "kiosk" / "invite.example.toml"


def _with_secret_files(tmp_path: Path) -> Path:
    """The example with its secret files (absolute /etc paths) moved to ``tmp_path``."""
    text = EXAMPLE.read_text()
    for path in set(re.findall(r'"(/etc/roomagent/invite/[^"]+)"', text)):
        local = tmp_path / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text("s" * 40 + "\n")
        text = text.replace(f'"{path}"', f'"{local}"')
    config = tmp_path / "invite.toml"
    config.write_text(text)
    return config


def test_the_example_configuration_is_valid(tmp_path: Path) -> None:
    settings = load_settings(_with_secret_files(tmp_path))
    assert settings.bbb.secret is not None and settings.bbb.secret.get_secret_value() == "s" * 40
    assert list(settings.tokens) == ["uni-a"] and settings.directory.default_server == "uni-a"
    # Every key of the model's top level is explained in the example.
    documented = set(tomllib.loads(EXAMPLE.read_text()))
    assert set(InviteSettings.model_fields) <= documented


def test_a_broken_configuration_exits_78_with_key_paths(tmp_path: Path) -> None:
    config = _with_secret_files(tmp_path)
    text = config.read_text().replace('checksum = "sha256"', 'checksum = "md5"')
    text = text.replace("invites_per_minute = 6", "invites_per_minute = 0")
    config.write_text(re.sub(r'uni-a = \{ file = "[^"]+" \}', 'uni-a = { file = "/nonexistent/token" }', text))
    done = subprocess.run([sys.executable, "-m", "roomagent", "invite", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == EX_CONFIG
    assert "bbb.checksum: must be one of sha1, sha256, sha384, sha512" in done.stderr
    assert "limits.invites_per_minute:" in done.stderr
    assert "tokens.uni-a: token file /nonexistent/token does not exist" in done.stderr


def test_the_nginx_snippet_strips_the_prefix_and_limits_bodies() -> None:
    text = (REPO / "kiosk" / "nginx" / "roomagent-invite.nginx").read_text()
    assert re.search(r"location /roomagent-invite/ \{", text)
    assert re.search(r"proxy_pass http://127\.0\.0\.1:8091/;", text)  # trailing slash: prefix stripped
    assert "client_max_body_size" in text
