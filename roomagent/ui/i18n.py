"""The few words the room's screens and panel show, in English and German.

``tr(language, key, **kw)`` looks the key up in the language's table, falls back to English for an
unknown language or a missing key, and fills ``{placeholders}`` from ``kw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from roomagent.ui.panel_text import PANEL_TEXT

FALLBACK_LANGUAGE = "en"

_SCREEN_TEXT = {
    "en": {
        "idle.instruction": "Type the code on the room panel to join a meeting",
        "idle.screen": "Screen {screen_id}",
        "notice.reconnecting": "Reconnecting…",
        "notice.gave_up": "This screen cannot show the meeting right now",
    },
    "de": {
        "idle.instruction": "Geben Sie den Code am Raum-Bedienfeld ein, um einer Besprechung beizutreten",
        "idle.screen": "Bildschirm {screen_id}",
        "notice.reconnecting": "Verbindung wird wiederhergestellt…",
        "notice.gave_up": "Dieser Bildschirm kann die Besprechung gerade nicht anzeigen",
    },
}

# One table per language for the screens and the panel; read-only so no caller can change what
# another window shows.
STRINGS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {lang: MappingProxyType({**_SCREEN_TEXT[lang], **PANEL_TEXT[lang]}) for lang in _SCREEN_TEXT}
)


def tr(language: str, key: str, **kw: object) -> str:
    """The text for ``key`` in ``language`` (e.g. ``"de"`` or ``"de-AT"``), English if it has none."""
    lang = (language or FALLBACK_LANGUAGE).lower().replace("_", "-").split("-", 1)[0]
    table = STRINGS.get(lang, STRINGS[FALLBACK_LANGUAGE])
    text = table.get(key)
    if text is None:
        text = STRINGS[FALLBACK_LANGUAGE].get(key, key)
    return text.format(**kw) if kw else text
