"""The room profile's ``[directory] secret_file``: a missing, unreadable, empty or malformed secret is a
configuration error with its key path (``roomagent check-config`` exits 78), a good one is accepted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.directory.server.rooms import generate_secret
from roomagent.profile import load_profile

PROFILE = """
[room]
id = "h0104"
name = "Room H 0104"
[directory]
url = "https://mediaauth.example.org"
secret_file = "{secret_file}"
[meeting]
allowed_hosts = ["bbb.example.org"]
[[screens]]
id = "main"
"""


def profile_with(tmp_path: Path, secret_file: Path) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(PROFILE.format(secret_file=secret_file))
    return path


def test_a_generated_secret_is_accepted(tmp_path):
    secret_file = tmp_path / "directory.secret"
    secret_file.write_text(generate_secret() + "\n")
    assert load_profile(profile_with(tmp_path, secret_file)).directory.secret_file == str(secret_file)


@pytest.mark.parametrize(("content", "words"), [
    (None, "does not exist"),
    ("", "is empty"),
    ("\n", "is empty"),
    ("two words-0123456789abcdef", "one line of letters, digits"),
    ("line-one-0123456789\nline-two", "one line of letters, digits"),
    ("short", "shorter than 16 characters"),
    (b"\xff\xfe" * 20, "not ASCII text"),
    ("directory", "is a directory"),
    ("under-a-file", "cannot be read"),
])
def test_a_bad_secret_file_is_a_config_error_with_its_key_path(tmp_path, content, words):
    secret_file = tmp_path / "directory.secret"
    if content == "directory":
        secret_file.mkdir()
    elif content == "under-a-file":  # a read error that even root gets (ENOTDIR)
        (tmp_path / "plain").write_text("x")
        secret_file = tmp_path / "plain" / "directory.secret"
    elif isinstance(content, bytes):
        secret_file.write_bytes(content)
    elif content is not None:
        secret_file.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_profile(profile_with(tmp_path, secret_file))
    assert any(line.startswith("directory.secret_file:") and words in line for line in info.value.errors), \
        info.value.errors


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_secret_file_is_a_config_error(tmp_path):
    secret_file = tmp_path / "directory.secret"
    secret_file.write_text(generate_secret())
    secret_file.chmod(0)
    with pytest.raises(ConfigError, match="directory.secret_file: file .* cannot be read"):
        load_profile(profile_with(tmp_path, secret_file))


def test_check_config_exits_78_naming_the_key(tmp_path):
    profile = profile_with(tmp_path, tmp_path / "absent.secret")
    done = subprocess.run([sys.executable, "-m", "roomagent", "check-config", "--config", str(profile)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == EX_CONFIG
    assert "directory.secret_file: file" in done.stderr and "does not exist" in done.stderr
