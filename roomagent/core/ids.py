"""The id patterns, written once: what a room, a screen, an input or a layout may be called.

Room ids travel in MQTT topics, file names and the directory's ``Room-Id`` header (DESIGN.md §3.2:
``[a-z0-9-]``); names of a room's parts (screens, inputs, layouts) are what commands refer to and may also
hold ``_``. Both start with a letter or a digit and are at most 64 characters long.
"""

from __future__ import annotations

import re

#: A room's id (and a screen's id in a profile): lower-case letters, digits and dashes.
ROOM_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
#: A name a command or profile uses for a screen, an input or a layout: as a room id, plus ``_``.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
#: An MQTT topic root: one or more ``/``-separated levels of letters, digits, ``_`` and ``-``.
TOPIC_ROOT_PATTERN = r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"

ROOM_ID = re.compile(ROOM_ID_PATTERN)
NAME = re.compile(NAME_PATTERN)


def check_room_id(value: str, example: str = "h0104") -> str:
    """``value`` when it is a valid room id, else ValueError in words (for pydantic validators)."""
    if not ROOM_ID.match(value):
        raise ValueError(f"must be lower-case letters, digits and dashes (at most 64, the first not a dash), e.g. {example!r}")
    return value
