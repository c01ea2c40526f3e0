"""Settings of the reference directory: ``directory.toml``, overridden by ``ROOMAGENT_DIRECTORY_*``.

Precedence is environment > TOML file > defaults (DESIGN.md §7). The model is an ordinary
pydantic-settings class, so tests and the demo build it directly in code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from roomagent.configload import Network, check_mqtt_url, load_server_settings
from roomagent.core.hosts import url_host, validate_pattern
from roomagent.core.ids import TOPIC_ROOT_PATTERN
from roomagent.directory.server.rooms import read_rooms

ENV_PREFIX = "ROOMAGENT_DIRECTORY_"
#: Shortest accepted bearer secret: anything shorter can be guessed or was typed in by hand.
MIN_TOKEN_LENGTH = 16
_SERVER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _host_pattern(value: str) -> str:
    return validate_pattern(value)


def _http_url(value: str) -> str:
    if url_host(value) is None:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value.strip()


def _token(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
        raise ValueError(f"secret must be at least {MIN_TOKEN_LENGTH} characters long")
    return value


def _mqtt_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return check_mqtt_url(value.strip())


def _existing_file(value: str) -> str:
    if value and not Path(value).is_file():
        raise ValueError(f"file {value} does not exist")
    return value


def _rooms_file(value: str) -> str:
    if value:
        read_rooms(value)  # RoomsFileError is a ValueError: reported with the key path, exit 78
    return value


HostPattern = Annotated[str, AfterValidator(_host_pattern)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Token = Annotated[SecretStr, AfterValidator(_token)]


class ServerEntry(BaseModel):
    """One meeting server offered for discovery by ``GET /server``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="stable identifier, used in /server/{id}")
    name: str = Field(min_length=1, max_length=200, description="human name, sorted and searched on")
    url: HttpUrl = Field(description="base URL of the meeting server")

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _SERVER_ID.match(value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value


class MqttSettings(BaseModel):
    """The broker the meeting-scoped relay publishes room commands to (``[mqtt]``; off without ``url``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str | None, AfterValidator(_mqtt_url)] = Field(
        None, description="mqtt://host:1883 or mqtts://host:8883 (TLS); unset: the relay answers 501"
    )
    username: str = Field("", description="broker user name (empty: anonymous)")
    password_file: Annotated[str, AfterValidator(_existing_file)] = Field(
        "", description="file holding the broker password (kept out of the settings)"
    )
    ca_file: Annotated[str, AfterValidator(_existing_file)] = Field(
        "", description="mqtts: PEM file of the CAs to trust instead of the system's"
    )
    topic_root: str = Field(
        "roomagent", pattern=TOPIC_ROOT_PATTERN, description="the rooms' topic root"
    )
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keep-alive in seconds")

    @property
    def enabled(self) -> bool:
        """True when a broker is configured."""
        return self.url is not None


class DirectorySettings(BaseSettings):
    """Everything the directory server needs; see ``kiosk/directory.example.toml`` for each key."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    code_ttl_s: int = Field(300, ge=10, le=86_400, description="lifetime of a code in seconds")
    allowed_join_hosts: list[HostPattern] = Field(
        min_length=1, description="host names (or *.domain wildcards) a join URL may point at"
    )
    jitsi_hosts: list[HostPattern] = Field(
        default_factory=list,
        description="hosts that run Jitsi Meet, the same as the rooms' [meeting] jitsi_hosts (the relay's meeting id)",
    )
    redeem_limit_per_min: int = Field(
        10, ge=1, le=10_000,
        description="failed redemptions per minute per requester: a network, a room (Room-Id) on a network, "
        "or an authenticated room wherever it is",
    )
    redeem_limit_per_network_per_min: int = Field(
        100, ge=1, le=1_000_000,
        description="failed redemptions per minute per network, whatever room ids its requests name "
        "(authenticated rooms are exempt: only their own failures count against them)",
    )
    rooms_file: Annotated[str, AfterValidator(_rooms_file)] = Field(
        "", description="file of room id -> hashes of its secrets (roomagent directory room); re-read on change"
    )
    require_room_credentials: bool = Field(
        False, description="refuse (401) redemptions that do not carry a room's credential"
    )
    redeem_ipv6_prefix: int = Field(
        64, ge=16, le=128, description="IPv6 clients are counted per prefix of this length (IPv4: per address)"
    )
    store: str = Field("memory", description='"memory" or a redis:// (rediss://, unix://) URL')
    memory_max_codes: int = Field(100_000, ge=1, description="memory store: live codes kept at most")
    memory_max_clients: int = Field(100_000, ge=1, description="memory store: clients tracked by the rate limit")
    tokens: dict[str, Token] = Field(
        min_length=1, description="meeting-server name -> bearer secret allowed to create codes"
    )
    servers: list[ServerEntry] = Field(default_factory=list, description="meeting servers offered by GET /server")
    default_server: str | None = Field(None, description="id of the server listed first by GET /server")
    trusted_proxies: list[Network] = Field(
        default_factory=list, description="peers whose X-Forwarded-For is believed (addresses or CIDR nets)"
    )
    access_log: bool = Field(True, description="uvicorn access log (request lines only, never headers)")
    http_request_timeout_s: float = Field(
        10.0, gt=0, le=300,
        description="a request's line, headers and body must arrive within this many seconds (else 408)",
    )
    http_keepalive_s: int = Field(5, ge=1, le=300, description="idle keep-alive connections are closed after this")
    http_max_connections: int = Field(
        1000, ge=1, le=1_000_000,
        description="open client connections at most (lowered to fit the open-file limit); past it the oldest "
        "idle or incomplete one is closed",
    )
    relay_ttl_s: int = Field(
        43_200, ge=60, le=7 * 86_400, description="how long after redemption a meeting server may relay commands"
    )
    relay_timeout_s: float = Field(10.0, gt=0, le=120, description="how long the relay waits for a room's reply")
    memory_max_relays: int = Field(100_000, ge=1, description="memory store: relay records kept at most (per state)")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="broker of the meeting-scoped relay")

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str) -> str:
        value = value.strip()
        if value == "memory" or value.startswith(("redis://", "rediss://", "unix://")):
            return value
        raise ValueError('must be "memory" or a redis://, rediss:// or unix:// URL')

    @field_validator("servers")
    @classmethod
    def _unique_ids(cls, value: list[ServerEntry]) -> list[ServerEntry]:
        ids = [entry.id for entry in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate server id(s): {', '.join(dupes)}")
        return value

    @field_validator("default_server")
    @classmethod
    def _known_default(cls, value: str | None, info: ValidationInfo) -> str | None:
        servers = info.data.get("servers")
        # When ``servers`` itself is invalid it is missing here; its own error is reported instead.
        if value is not None and servers is not None and value not in {s.id for s in servers}:
            raise ValueError(f"{value!r} is not the id of any [[servers]] entry")
        return value

    @field_validator("require_room_credentials")
    @classmethod
    def _credentials_need_rooms(cls, value: bool, info: ValidationInfo) -> bool:
        # When rooms_file itself is invalid it is missing here; its own error is reported instead.
        if value and info.data.get("rooms_file", "-") == "":
            raise ValueError("needs rooms_file: without room credentials no room could redeem a code")
        return value

    @property
    def store_kind(self) -> str:
        """``"memory"`` or ``"redis"``."""
        return "memory" if self.store == "memory" else "redis"


def load_settings(path: str | Path) -> DirectorySettings:
    """Read ``path`` (TOML), apply ``ROOMAGENT_DIRECTORY_*`` overrides, validate.

    Raises :class:`ConfigError` listing every problem with its key path.
    """
    return load_server_settings(path, DirectorySettings, ENV_PREFIX)
