"""Settings of the invite service: ``invite.toml``, overridden by ``ROOMAGENT_INVITE_*``.

Same rules as the directory's (``roomagent/directory/server/settings.py``): environment > TOML > defaults,
every problem reported with its key path, exit 78. Secrets (the BBB secret, the directories' tokens) are
best kept in files readable only by the service (``secret_file``, ``{file = "..."}``): they are read and
checked here, at start, so a missing or short one is a configuration error, not a failure at the first
teacher's click.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from roomagent.configload import load_server_settings
from roomagent.core.hosts import url_host
from roomagent.directory.server.settings import MIN_TOKEN_LENGTH, HttpUrl
from roomagent.invite.checksum import ALGORITHMS

ENV_PREFIX = "ROOMAGENT_INVITE_"


def _read_secret(path: str, what: str) -> SecretStr:
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"{what} file {path} does not exist") from None
    except PermissionError:
        raise ValueError(f"{what} file {path} is not readable by this user") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} file {path} cannot be read: {exc}") from None
    if not value:
        raise ValueError(f"{what} file {path} is empty")
    return SecretStr(value)


def _long_enough(value: SecretStr, what: str) -> SecretStr:
    if len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
        raise ValueError(f"{what} must be at least {MIN_TOKEN_LENGTH} characters long")
    return value


def _token(value: Any) -> SecretStr:
    """A directory token: a string, or ``{file = "/etc/roomagent/invite/uni-a.token"}`` (preferred)."""
    if isinstance(value, dict):
        if set(value) != {"file"} or not isinstance(value["file"], str):
            raise ValueError('must be a string or a table {file = "/path/to/token"}')
        return _long_enough(_read_secret(value["file"], "token"), "the token in that file")
    if isinstance(value, SecretStr):
        return _long_enough(value, "token")
    if isinstance(value, str):
        return _long_enough(SecretStr(value.strip()), "token")
    raise ValueError('must be a string or a table {file = "/path/to/token"}')


class BbbSettings(BaseModel):
    """``[bbb]``: the BigBlueButton (or Scalelite) API this service signs calls for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl = Field(description="API base, e.g. https://bbb.example.org/bigbluebutton/ (Scalelite's if used)")
    secret: SecretStr | None = Field(None, description="the API secret (prefer secret_file)")
    secret_file: str = Field("", description="file holding the API secret (bbb-conf --secret)")
    checksum: str = Field("sha256", description="checksum algorithm: sha1, sha256, sha384 or sha512")
    web_url: Annotated[str, Field(description="bbb-web for the session check; default: url")] = ""
    timeout_s: float = Field(5.0, gt=0, le=60, description="timeout of one call to BigBlueButton")

    @field_validator("checksum")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ALGORITHMS:
            raise ValueError(f"must be one of {', '.join(ALGORITHMS)}")
        return value

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if value and url_host(value) is None:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.strip()

    @model_validator(mode="after")
    def _one_secret(self) -> BbbSettings:
        if self.secret is not None and self.secret_file:
            raise ValueError("give secret or secret_file, not both")
        if self.secret is None and not self.secret_file:
            raise ValueError("secret_file (or secret) is required")
        if self.secret_file:
            object.__setattr__(self, "secret", _read_secret(self.secret_file, "secret"))
        return self

    @property
    def api_base(self) -> str:
        """``…/bigbluebutton/api/`` with one trailing slash."""
        base = self.url.rstrip("/")
        return base + "/" if base.endswith("/api") else base + "/api/"

    @property
    def connection_base(self) -> str:
        """``…/bigbluebutton/connection/`` on bbb-web."""
        base = (self.web_url or self.url).rstrip("/")
        return base.removesuffix("/api") + "/connection/"


class DirectoryTarget(BaseModel):
    """``[directory]``: the directory whose ``/server`` list is offered to teachers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl = Field(description="the default directory, e.g. https://dir.uni-a.example")
    default_server: str | None = Field(None, description="server id listed first (the directory's own default if unset)")
    timeout_s: float = Field(10.0, gt=0, le=60, description="timeout of one call to a directory")
    # Longer than the directories' relay_timeout_s (10 s by default): their 504 must arrive first.
    command_timeout_s: float = Field(
        20.0, gt=0, le=180,
        description="how long a command to a room may take (POST /meeting/command); longer than the "
                    "directories' relay_timeout_s, so a silent room is reported as 'timeout'")


class Limits(BaseModel):
    """``[limits]``: what one meeting and one session may ask for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invites_per_minute: int = Field(6, ge=1, le=1000, description="codes one meeting may create per minute")
    requests_per_minute: int = Field(120, ge=1, le=100_000, description="requests per session token per minute")
    invites_kept: int = Field(20, ge=1, le=1000, description="invites remembered per meeting (oldest forgotten)")
    max_body_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024, description="largest request body accepted")


class InviteSettings(BaseSettings):
    """Everything the invite service needs; see ``kiosk/invite.example.toml`` for each key."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True)

    bbb: BbbSettings
    directory: DirectoryTarget
    tokens: dict[str, Annotated[SecretStr, BeforeValidator(_token)]] = Field(
        default_factory=dict, description="directory server id -> bearer token (string or {file = ...})"
    )
    room_name_prefix: str = Field("Room · ", max_length=40, description="the room user's name before the institution's")
    access_log: bool = Field(True, description="uvicorn access log (request lines only, never headers)")
    limits: Limits = Field(default_factory=Limits)


def load_settings(path: str | Path) -> InviteSettings:
    """Read ``path`` (TOML), apply ``ROOMAGENT_INVITE_*`` overrides, validate, read the secret files.

    Raises :class:`ConfigError` listing every problem with its key path.
    """
    return load_server_settings(path, InviteSettings, ENV_PREFIX)
