"""Settings of the fleet dashboard: ``fleet.toml`` (commented example: ``kiosk/fleet.example.toml``).

Every problem is reported with its key path and the CLI exits 78, as for the room profile and the
directory (DESIGN.md §7).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from roomagent.configload import ConfigError, Network, load_toml, validation_lines
from roomagent.core.ids import check_room_id
from roomagent.profile import MqttSection

#: A session secret shorter than this can be guessed; 32 bytes is what ``openssl rand -hex 32`` gives.
MIN_SECRET_BYTES = 32
_USER = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomEntry(_Section):
    """One room of the inventory: what the dashboard shows besides the room id (rooms do not publish
    their name or building). Rooms on the broker that are not listed still appear, by id."""

    id: str
    name: str = Field(default="", max_length=120)
    building: str = Field(default="", max_length=120)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_room_id(value)


#: What a signed-in person may do: ``viewer`` sees everything and acts on nothing; ``operator`` acts on rooms
#: (all of them, or those of ``buildings``).
Role = Literal["viewer", "operator"]
#: A user entry without ``role``: an operator of every building, as every user was before roles existed,
#: so an upgrade neither takes rights from anyone a config lists nor gives anyone new ones.
DEFAULT_ROLE: Role = "operator"


class User(_Section):
    """A person who may sign in: with a password (only its argon2 hash is stored) in mode ``password``;
    in mode ``proxy`` an entry only gives the name the proxy sends its role and buildings."""

    name: str
    password_hash: str | None = Field(default=None, description="from `roomagent fleet hash-password`")
    role: Role = DEFAULT_ROLE
    #: An operator acts only on rooms of these buildings (``[[rooms]] building``); omitted: every room.
    buildings: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _USER.match(value):
            raise ValueError("must be 1-64 letters, digits, '.', '_', '@' or '-'")
        return value

    @field_validator("password_hash")
    @classmethod
    def _check_hash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2id$"):
            raise ValueError("must be an argon2id hash from `roomagent fleet hash-password`, never the password")
        return value

    @field_validator("buildings")
    @classmethod
    def _check_buildings(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an empty list would let this operator act nowhere: leave `buildings` out for "
                             "every building, or make the user a viewer")
        if any(not b.strip() for b in value):
            raise ValueError("a building name may not be empty")
        return value

    @model_validator(mode="after")
    def _check_role(self) -> "User":
        if self.role == "viewer" and self.buildings is not None:
            raise ValueError("`buildings` limits what an operator may act on; a viewer acts on nothing "
                             "(remove `buildings`, or set role = \"operator\")")
        return self


class AuthSection(_Section):
    """How operators sign in: ``password`` (users below) or ``proxy`` (a trusted reverse proxy that has
    authenticated the operator names them in a header)."""

    mode: Literal["password", "proxy"] = "password"
    users: list[User] = []
    proxy_header: str = Field(default="X-Remote-User", pattern=r"^[A-Za-z0-9-]+$")
    #: Only requests from these addresses may carry the header; anyone else is refused.
    trusted_proxies: list[Network] = []
    #: Mode ``proxy``: the role of a name the proxy sends that no ``[[auth.users]]`` entry lists.
    default_role: Role = DEFAULT_ROLE

    @model_validator(mode="after")
    def _check_mode(self) -> "AuthSection":
        if self.mode == "password" and not self.users:
            raise ValueError("mode 'password' needs at least one [[auth.users]] entry")
        if self.mode == "proxy" and not self.trusted_proxies:
            raise ValueError("mode 'proxy' needs trusted_proxies (the reverse proxy's addresses)")
        if self.mode == "password":
            missing = [u.name for u in self.users if u.password_hash is None]
            if missing:
                raise ValueError(f"mode 'password' needs a password_hash for every user (missing for "
                                 f"{', '.join(missing)}; make one with `roomagent fleet hash-password`)")
        names = [u.name for u in self.users]
        if len(names) != len(set(names)):
            raise ValueError("user names must be unique")
        return self


class WebSection(_Section):
    """The web side: sessions, the audit log, limits."""

    session_secret_file: str = Field(description="file holding the secret that signs session cookies")
    #: Send the session cookie over HTTPS only. Off only for a dashboard reached on loopback.
    secure_cookies: bool = True
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    audit_log: str = Field(description="JSON lines: who, what, when, the reply")
    command_timeout_s: float = Field(default=5, gt=0, le=60)
    #: Recent events and state changes kept per room while the dashboard runs.
    history_per_room: int = Field(default=100, ge=1, le=10_000)

    @field_validator("session_secret_file")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        path = Path(value)
        if not path.is_file():
            raise ValueError(f"file {value} does not exist (create it with: openssl rand -hex 32 > {value})")
        if len(path.read_bytes().strip()) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} characters long")
        return value

    @field_validator("audit_log")
    @classmethod
    def _check_audit(cls, value: str) -> str:
        if not Path(value).parent.is_dir():
            raise ValueError(f"folder {Path(value).parent} does not exist")
        return value

    def session_secret(self) -> str:
        """The signing secret (read at start-up, not at import)."""
        return Path(self.session_secret_file).read_text(encoding="utf-8").strip()


class HistorySection(_Section):
    """Where each room's availability, meetings and incidents are kept (README, "History and alerts")."""

    #: A file path (SQLite, created on first start) or a ``postgresql://user@host/database`` URL.
    database: str = Field(min_length=1)
    #: Rows older than this are deleted (at least 8 days: the week's uptime needs the whole week).
    retention_days: int = Field(default=90, ge=8, le=3650)

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        from roomagent.fleet.history_db import HistoryError, database_url  # SQLAlchemy only when used

        try:
            url = database_url(value)
        except HistoryError as exc:
            raise ValueError(str(exc)) from None
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).parent.is_dir():
            raise ValueError(f"folder {Path(url.database).parent} does not exist")
        return value


def _existing_file(value: str) -> str:
    if value and not Path(value).is_file():
        raise ValueError(f"file {value} does not exist")
    return value


class EmailAlerts(_Section):
    """Alerts by e-mail over SMTP."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls`` (port 587), ``tls`` (SMTPS, port 465) or ``none`` (only to a relay on this machine).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_file: str = ""
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    timeout_s: float = Field(default=10, gt=0, le=120)

    @field_validator("password_file")
    @classmethod
    def _check_password(cls, value: str) -> str:
        return _existing_file(value)

    @model_validator(mode="after")
    def _check_login(self) -> "EmailAlerts":
        if bool(self.username) != bool(self.password_file):
            raise ValueError("username and password_file go together")
        if self.security == "none" and self.username and self.host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("security 'none' would send the password in clear: use starttls or tls")
        return self


class WebhookAlerts(_Section):
    """Alerts as a JSON POST (``text`` for chat tools such as Mattermost or Slack, ``alerts`` for programs)."""

    url: str = Field(pattern=r"^https?://\S+$")
    #: Sent as ``Authorization: Bearer <token>`` when given.
    token_file: str = ""
    timeout_s: float = Field(default=10, gt=0, le=120)

    @field_validator("token_file")
    @classmethod
    def _check_token(cls, value: str) -> str:
        return _existing_file(value)


class AlertsSection(_Section):
    """Which incidents are alerted, after how long, how often at most, and where to."""

    rules: list[Literal["offline", "screen_failed", "host_unreachable"]] = ["offline", "screen_failed",
                                                                            "host_unreachable"]
    offline_after_s: float = Field(default=120, ge=0, le=7 * 86400)
    screen_failed_after_s: float = Field(default=30, ge=0, le=7 * 86400)
    host_unreachable_after_s: float = Field(default=60, ge=0, le=7 * 86400)
    #: Send a recovery when an alerted incident is over.
    recovery: bool = True
    #: Messages per channel and hour at most; the rest waits and goes out as one digest.
    max_per_hour: int = Field(default=20, ge=1, le=3600)
    #: ``"22:00-07:00"`` (local time): nothing is sent then. Empty: no quiet hours.
    quiet_hours: str = Field(default="", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    #: The dashboard's address as operators reach it, for links in the messages.
    dashboard_url: str = Field(default="", pattern=r"^$|^https?://\S+$")
    email: EmailAlerts | None = None
    webhook: WebhookAlerts | None = None

    @model_validator(mode="after")
    def _check_channels(self) -> "AlertsSection":
        if self.email is None and self.webhook is None:
            raise ValueError("give [alerts.email], [alerts.webhook] or both")
        window = self.quiet_window()
        if window is not None and window[0] == window[1]:
            raise ValueError("quiet_hours: start and end are the same time")
        return self

    def quiet_window(self) -> tuple[int, int] | None:
        """The quiet hours as (start, end) minutes of the day, or None."""
        if not self.quiet_hours:
            return None
        start, end = (int(t[:2]) * 60 + int(t[3:]) for t in self.quiet_hours.split("-"))
        return start, end


class FleetSettings(_Section):
    """The whole ``fleet.toml``."""

    mqtt: MqttSection
    web: WebSection
    # Before auth: the users' buildings are checked against the rooms' (validated in field order).
    rooms: list[RoomEntry] = []
    auth: AuthSection
    #: Off when absent (README, "History and alerts").
    history: HistorySection | None = None
    alerts: AlertsSection | None = None

    @field_validator("rooms")
    @classmethod
    def _check_rooms(cls, rooms: list[RoomEntry]) -> list[RoomEntry]:
        ids = [r.id for r in rooms]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rooms listed twice: {', '.join(duplicates)}")
        return rooms

    @field_validator("auth")
    @classmethod
    def _check_buildings(cls, auth: AuthSection, info: ValidationInfo) -> AuthSection:
        if "rooms" not in info.data:  # the rooms have their own errors
            return auth
        # A misspelt building would leave an operator who can act nowhere, found out only in an emergency.
        known = {r.building for r in info.data["rooms"] if r.building}
        for i, user in enumerate(auth.users):
            unknown = [b for b in user.buildings or [] if b not in known]
            if unknown:
                raise ValueError(f"users[{i}].buildings ({user.name}): no room of [[rooms]] is in "
                                 f"{', '.join(repr(b) for b in unknown)} (the buildings there: "
                                 f"{', '.join(repr(b) for b in sorted(known)) or 'none'})")
        return auth

    def buildings(self) -> set[str]:
        """The buildings that ``[[rooms]]`` names."""
        return {r.building for r in self.rooms if r.building}


def load_settings(path: str | Path) -> FleetSettings:
    """Read and validate ``fleet.toml``; raise :class:`ConfigError` with every problem."""
    data = load_toml(Path(path))
    try:
        return FleetSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(path), validation_lines(exc)) from None
