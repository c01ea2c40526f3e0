"""invite.toml: secrets from files, the environment over the file, every problem with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomagent.configload import ConfigError
from roomagent.invite.settings import load_settings

BASE = """
[bbb]
url = "https://bbb.example.org/bigbluebutton/"
{secret}
[directory]
url = "https://rooms.example.org"
[tokens]
{tokens}
"""


def _write(tmp_path: Path, secret: str, tokens: str = "") -> Path:
    path = tmp_path / "invite.toml"
    path.write_text(BASE.format(secret=secret, tokens=tokens))
    return path


def test_secrets_are_read_from_their_files(tmp_path: Path) -> None:
    (tmp_path / "bbb-secret").write_text("the-bbb-secret\n")
    (tmp_path / "uni-a").write_text("a-directory-token-0123456789\n")
    settings = load_settings(_write(tmp_path, f'secret_file = "{tmp_path}/bbb-secret"',
                                    f'uni-a = {{ file = "{tmp_path}/uni-a" }}\nuni-b = "inline-token-0123456789"'))
    assert settings.bbb.secret.get_secret_value() == "the-bbb-secret"
    assert {k: v.get_secret_value() for k, v in settings.tokens.items()} == {
        "uni-a": "a-directory-token-0123456789", "uni-b": "inline-token-0123456789"}
    assert settings.bbb.api_base == "https://bbb.example.org/bigbluebutton/api/"
    assert settings.bbb.connection_base == "https://bbb.example.org/bigbluebutton/connection/"
    assert "the-bbb-secret" not in repr(settings)


@pytest.mark.parametrize("secret, tokens, expected", [
    ("", "", "bbb: Value error, secret_file (or secret) is required"),
    ('secret = "x"\nsecret_file = "/etc/hostname"', "", "bbb: Value error, give secret or secret_file, not both"),
    ('secret_file = "/nonexistent/secret"', "", "bbb: Value error, secret file /nonexistent/secret does not exist"),
    ('secret = "x"', 'uni-a = "short"', "tokens.uni-a: token must be at least 16 characters long"),
    ('secret = "x"', 'uni-a = { path = "/x" }', 'tokens.uni-a: must be a string or a table {file = "/path/to/token"}'),
])
def test_problems_are_reported_with_their_key_paths(tmp_path: Path, secret: str, tokens: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, secret, tokens))
    assert any(line.replace("Value error, ", "") == expected.replace("Value error, ", "")
               for line in caught.value.errors), caught.value.errors


def test_the_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMAGENT_INVITE_LIMITS__INVITES_PER_MINUTE", "9")
    monkeypatch.setenv("ROOMAGENT_INVITE_BBB__CHECKSUM", "sha512")
    settings = load_settings(_write(tmp_path, 'secret = "x"'))
    assert settings.limits.invites_per_minute == 9 and settings.bbb.checksum == "sha512"
    monkeypatch.setenv("ROOMAGENT_INVITE_BBB__CHECKSUM", "md5")
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, 'secret = "x"'))
    assert "ROOMAGENT_INVITE_BBB*" in caught.value.source
