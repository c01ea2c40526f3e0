"""The room profile (``room.toml``): what an operator configures per lecture room.

Precedence, highest first: CLI overrides > ``ROOMAGENT_*`` environment (nested keys with ``__``, e.g.
``ROOMAGENT_ROOM__NAME``) > ``/etc/roomagent/room.toml`` then ``room.d/*.toml`` beside it (later files win,
tables merge key by key, lists are replaced) > defaults. Everything is validated at start; a broken profile
is reported with every error's key path and exit status 78.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from roomagent.configload import EX_CONFIG, ConfigError, check_mqtt_url, deep_merge, load_toml, validation_lines
from roomagent.core.hosts import validate_pattern
from roomagent.core.ids import NAME_PATTERN, TOPIC_ROOT_PATTERN, check_room_id

DEFAULT_CONFIG = Path("/etc/roomagent/room.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomSection(_Section):
    """Who the room is."""

    id: str = Field(description="room id used in MQTT topics, [a-z0-9-]")
    name: str = Field(min_length=1, max_length=120)
    language: Literal["en", "de"] = "en"

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_room_id(value)


class DirectorySection(_Section):
    """The institution's fixed directory (MediaAuthService); never chosen by the teacher."""

    url: str
    ca_bundle: str = ""
    timeout_s: float = Field(default=8.0, gt=0, le=60)
    secret_file: str = Field(
        default="", description="file holding this room's directory secret (roomagent directory room add)"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an https:// URL")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("must use https (plain http is only allowed for a directory on this machine)")
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("secret_file")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if value:
            from roomagent.directory.secret import read_secret

            read_secret(value)  # missing, unreadable, empty or malformed: a config error (exit 78)
        return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MeetingSection(_Section):
    """Which meeting servers the room may open, and how the room appears in a meeting."""

    allowed_hosts: tuple[str, ...] = Field(min_length=1)
    display_name: str = Field(default="", max_length=80)
    #: The layout every meeting starts with; unset: "lecture" when the room has main and side screens,
    #: else "single-screen".
    default_layout: str | None = Field(default=None, pattern=NAME_PATTERN)
    #: Hosts that run Jitsi Meet (patterns like allowed_hosts). Links on other hosts are still taken for
    #: Jitsi when the host name says "jitsi" or the link carries a ?jwt= token.
    jitsi_hosts: tuple[str, ...] = ()
    #: The media session shares the room camera (BigBlueButton: bbb_auto_share_webcam; Jitsi: video on).
    share_camera: bool = False

    @field_validator("allowed_hosts", "jitsi_hosts")
    @classmethod
    def _check_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(validate_pattern(p) for p in value)


class PanelSection(_Section):
    """The touch panel; without ``output`` the keypad sits on the first screen."""

    output: str | None = None


class KioskSection(_Section):
    """The browser engine behind the screen windows and how it draws (README: "Screen engines")."""

    #: "auto": from what OpenGL runs on (a hardware driver: gpu; llvmpipe or none: software).
    rendering: Literal["auto", "gpu", "software"] = "auto"
    #: "chromium" drives Debian's Chromium over the DevTools pipe, one browser per screen session; "auto":
    #: Chromium when no hardware GPU draws and Chromium can run, else QtWebEngine (roomagent/ui/engine.py).
    engine: Literal["auto", "qtwebengine", "chromium"] = "auto"
    chromium_path: str = "/usr/bin/chromium"


class ScreenSection(_Section):
    """One projector or display: its own browser session with its own layout."""

    id: str
    output: str | None = Field(default=None, description="QScreen name; unset or missing: by position")
    role: str = "main"
    media: bool = False

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_room_id(value, "left")


class MqttSection(_Section):
    """The broker that moderators and operators reach the room through (DESIGN.md §3.2)."""

    url: str = Field(description="mqtt://host:port or mqtts://host:port (TLS)")
    username: str = ""
    password_file: str = Field(default="", description="file holding the password (kept out of the profile)")
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    topic_root: str = Field(default="roomagent", pattern=TOPIC_ROOT_PATTERN)
    keepalive_s: int = Field(default=30, ge=5, le=600)
    #: How long the broker keeps the room's session (and queued QoS 1 commands) while it is away.
    session_expiry_s: int = Field(default=3600, ge=0, le=7 * 86400)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_mqtt_url(value)

    @field_validator("password_file", "ca_file", "client_cert", "client_key")
    @classmethod
    def _check_file(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @model_validator(mode="after")
    def _check_pairs(self) -> "MqttSection":
        if bool(self.client_cert) != bool(self.client_key):
            raise ValueError("client_cert and client_key go together")
        return self


class SourceSection(_Section):
    """One video input of the room (HDMI capture card, document camera), recognised by udev properties."""

    id: str = Field(pattern=NAME_PATTERN)
    name: str = Field(min_length=1, max_length=80)
    match: dict[str, str] = Field(min_length=1, description="udev properties the device must have, e.g. ID_PATH")
    mrl: str = Field(default="", description="what the local preview plays instead of v4l2:///dev/videoN")


class RoomProfile(BaseSettings):
    """The whole validated room profile."""

    model_config = SettingsConfigDict(
        env_prefix="ROOMAGENT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    room: RoomSection
    directory: DirectorySection
    meeting: MeetingSection
    panel: PanelSection = PanelSection()
    kiosk: KioskSection = KioskSection()
    mqtt: MqttSection | None = None
    sources: tuple[SourceSection, ...] = ()
    screens: tuple[ScreenSection, ...] = Field(min_length=1)
    #: Extra or overriding layouts, ``[layouts.<name>]`` tables (see layouts/README.md).
    layouts: dict[str, dict[str, Any]] = {}

    @field_validator("sources")
    @classmethod
    def _check_sources(cls, value: tuple[SourceSection, ...]) -> tuple[SourceSection, ...]:
        ids = [s.id for s in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate id {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _check_screens(self) -> "RoomProfile":
        ids = [s.id for s in self.screens]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"screens: duplicate id {', '.join(dupes)}")
        if sum(s.media for s in self.screens) > 1:
            raise ValueError("screens: only one screen may have media = true (the room has one microphone)")
        return self

    @property
    def media_screen(self) -> ScreenSection:
        """The screen whose session carries the room microphone, speakers and camera (default: the first)."""
        return next((s for s in self.screens if s.media), self.screens[0])

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **_):
        """CLI overrides (init) win over the environment; :func:`load_profile` adds the files below both."""
        return init_settings, env_settings


def profile_files(config: str | Path | None) -> list[Path]:
    """The files that make up the profile: the main file, then ``room.d/*.toml`` beside it, sorted."""
    main = Path(config) if config else DEFAULT_CONFIG
    drop_in = main.parent / "room.d"
    return [main, *sorted(drop_in.glob("*.toml"))] if drop_in.is_dir() else [main]


def load_profile(config: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RoomProfile:
    """Read, merge and validate the profile; raise :class:`ConfigError` listing every problem."""
    files = profile_files(config)
    merged: dict[str, Any] = {}
    for path in files:
        merged = deep_merge(merged, load_toml(path))
    source = ", ".join(str(p) for p in files)
    try:
        profile = _build(merged, overrides or {})
    except ValidationError as exc:
        raise ConfigError(source, validation_lines(exc)) from None
    from roomagent.layouts import room_layouts

    try:
        room_layouts(profile)  # a broken layout or an impossible default must stop the start, too
    except ConfigError as exc:
        raise ConfigError(source, exc.errors) from None
    return profile


def _build(files: dict[str, Any], overrides: dict[str, Any]) -> RoomProfile:
    # pydantic-settings merges its sources itself (init > env > files); a subclass bound to this call
    # adds the already-merged files as the lowest source without any state outside the call.
    class _Bound(RoomProfile):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **_):
            return init_settings, env_settings, _DictSource(settings_cls, files)

    return _Bound(**overrides)


class _DictSource(PydanticBaseSettingsSource):
    """A settings source holding an already-read dict (the merged TOML files)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field, field_name):  # pragma: no cover - whole-dict source
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


def check_config(config: str | None) -> int:
    """``roomagent check-config``: print the result; 0 when valid, 78 with every error otherwise."""
    try:
        profile = load_profile(config)
    except ConfigError as exc:
        exc.report()
        return EX_CONFIG
    from roomagent.layouts import room_layouts

    screens = ", ".join(f"{s.id}→{s.output or 'auto'}{' (media)' if s is profile.media_screen else ''}"
                        for s in profile.screens)
    _, default, notes = room_layouts(profile)
    print(f"ok: room {profile.room.id} ({profile.room.name}); screens: {screens}; default layout: {default}")
    if profile.kiosk.engine == "chromium" and profile.panel.output is None:
        # Chromium's windows lie over the screen windows, and with them over the on-screen Leave control.
        notes.append("[kiosk] engine = \"chromium\" without [panel] output: Chromium's window covers the "
                     "on-screen Leave control during a meeting; give the room a separate panel display")
    for note in notes:
        print(f"note: {note}")
    return 0
