"""Room layouts: what each screen shows, defined on screen *roles* with per-platform settings.

A layout names roles ("main", "side", …); a room's screens have roles; a screen whose role the layout
does not name gets the layout's ``other`` settings, or the platform's neutral default. Layouts that
name a role the room lacks are not offered in that room. The shipped layouts live in ``layouts/*.toml``
(see ``roomagent.layouts`` for loading); a room adds or overrides them in its profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Layouts BigBlueButton 3 enforces per session (getJoinUrl ``enforceLayout`` and the ui-command event).
BBB_LAYOUTS = (
    "PRESENTATION_ONLY",
    "CAMERAS_ONLY",
    "PARTICIPANTS_AND_CHAT_ONLY",
    "MEDIA_ONLY",
    "CUSTOM_LAYOUT",
    "SMART_LAYOUT",
    "PRESENTATION_FOCUS",
    "VIDEO_FOCUS",
)
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BbbSettings(_Model):
    """One BigBlueButton session: the enforced layout and extra ``userdata-bbb_*`` join parameters."""

    enforce_layout: Literal[BBB_LAYOUTS] = "SMART_LAYOUT"  # type: ignore[valid-type]
    userdata: dict[str, str | bool | int] = {}

    @field_validator("userdata")
    @classmethod
    def _check_userdata(cls, value: dict) -> dict:
        bad = [k for k in value if not re.fullmatch(r"bbb_[a-z0-9_]{1,60}", k)]
        if bad:
            raise ValueError(f"userdata keys must look like bbb_something: {', '.join(bad)}")
        return value


class JitsiSettings(_Model):
    """One Jitsi Meet window: tile view (everybody) or stage view (the speaker or the shared screen)."""

    tile_view: bool = False
    filmstrip: bool = True


class RoleSettings(_Model):
    """What screens of one role show, per platform (a platform left out gets its neutral default).

    One field per platform record with a ``layout_key`` (``roomagent.core.platforms``), named after it.
    """

    bbb: BbbSettings | None = None
    jitsi: JitsiSettings | None = None


def default_settings(key: str) -> BaseModel | None:
    """The neutral settings under ``key`` of :class:`RoleSettings` (a platform's ``layout_key``); None when
    no platform keeps settings there."""
    field = RoleSettings.model_fields.get(key)
    if field is None:
        return None
    return next(t for t in get_args(field.annotation) if t is not type(None))()


class Layout(_Model):
    """One named layout."""

    name: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1, max_length=60)
    title_de: str = Field(default="", max_length=60)
    description: str = Field(default="", max_length=300)
    roles: dict[str, RoleSettings] = Field(min_length=1)
    other: RoleSettings = RoleSettings()

    @field_validator("roles")
    @classmethod
    def _check_roles(cls, value: dict) -> dict:
        bad = [r for r in value if not _NAME.match(r)]
        if bad:
            raise ValueError(f"role names must be lower-case ids: {', '.join(bad)}")
        return value

    @property
    def required_roles(self) -> frozenset[str]:
        """The roles this layout names (a room must have each of them to offer it)."""
        return frozenset(self.roles)

    def settings_for(self, role: str, platform: str):
        """The settings of a screen with ``role`` on the platform whose ``layout_key`` is ``platform`` (never
        None for a key :class:`RoleSettings` has)."""
        chosen = self.roles.get(role, self.other)
        value = getattr(chosen, platform, None) if platform in RoleSettings.model_fields else None
        if value is None and role in self.roles:
            value = getattr(self.other, platform, None)
        return value if value is not None else default_settings(platform)

    def title_in(self, language: str) -> str:
        """The title for the panel in ``language``."""
        return self.title_de if language == "de" and self.title_de else self.title


def available(layouts: Iterable[Layout], room_roles: Iterable[str]) -> list[Layout]:
    """The layouts a room with these screen roles can show, in the given order."""
    roles = frozenset(room_roles)
    return [layout for layout in layouts if layout.required_roles <= roles]


def offered_names(layouts: Iterable[Layout], room_roles: Iterable[str], default: str | None) -> tuple[str, ...]:
    """Names of the available layouts, the default first."""
    names = [layout.name for layout in available(layouts, room_roles)]
    if default in names:
        names.remove(default)
        names.insert(0, default)
    return tuple(names)
