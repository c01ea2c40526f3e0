"""The plugin says every refusal in the user's words: each code the invite service or a room can answer
has a text in every shipped locale (without one the plugin falls back to the service's English sentence)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from roomagent.core.commands import ErrorCode

REPO = Path(__file__).resolve().parents[2]
LOCALES = sorted((REPO / "bbb-plugin" / "locales").glob("*.json"))
#: A code written where the invite service refuses: ``InviteError(status, "code", …`` or a
#: ``(status, "code", "message")`` tuple.
_CODE = re.compile(r'(?:InviteError\(|=\s*\()\s*\d{3},\s*"([a-z_]+)"')


def _invite_codes() -> set[str]:
    codes = set()
    for path in (REPO / "roomagent" / "invite").glob("*.py"):
        codes |= set(_CODE.findall(path.read_text(encoding="utf-8")))
    return codes


def test_the_invite_service_codes_are_found() -> None:
    # A guard for the scan itself: these are known to exist.
    assert {"not_moderator", "identity_unsupported", "relay_not_configured"} <= _invite_codes()


@pytest.mark.parametrize("locale", LOCALES, ids=lambda p: p.stem)
def test_every_refusal_has_words(locale: Path) -> None:
    texts = json.loads(locale.read_text(encoding="utf-8"))
    missing = sorted(f"error.{c}" for c in _invite_codes() if f"error.{c}" not in texts)
    missing += sorted(f"room.{c.value}" for c in ErrorCode if f"room.{c.value}" not in texts)
    assert missing == []


def test_the_locales_have_the_same_keys() -> None:
    keys = {p.stem: set(json.loads(p.read_text(encoding="utf-8"))) for p in LOCALES}
    assert len(keys) >= 2 and all(k == keys["en"] for k in keys.values())
