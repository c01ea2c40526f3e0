"""Reading configuration files, and turning their problems into the operator's words with the exit status
systemd understands."""

from __future__ import annotations

import ipaddress
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, PlainValidator, ValidationError
from pydantic_settings import EnvSettingsSource, SettingsError

_Model = TypeVar("_Model", bound=BaseModel)

#: sysexits.h EX_CONFIG; the units set ``RestartPreventExitStatus=78`` so a broken profile does not loop.
EX_CONFIG = 78


class ConfigError(Exception):
    """A configuration that cannot be used; ``errors`` holds one line per problem, with its key path."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(errors))
        self.source = source
        self.errors = errors

    def report(self, stream=None) -> None:
        """Print every problem, one per line, to ``stream`` (stderr by default)."""
        stream = stream or sys.stderr
        print(f"configuration error in {self.source}:", file=stream)
        for line in self.errors:
            print(f"  {line}", file=stream)


def key_path(loc: tuple[Any, ...]) -> str:
    """``("screens", 1, "output")`` -> ``screens[1].output``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def validation_lines(exc: ValidationError) -> list[str]:
    """One ``key.path: message`` line per pydantic error."""
    lines = []
    for err in exc.errors():
        # Drop the union/tag noise pydantic adds to locations of tagged unions and validators.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union"))))
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{key_path(loc)}: {msg}")
    return lines


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file or raise :class:`ConfigError` saying why it cannot be read."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except PermissionError:
        raise ConfigError(str(path), ["permission denied"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: tables merge key by key, everything else (lists too) is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_server_settings(path: str | Path, model: type[_Model], env_prefix: str) -> _Model:
    """Read ``path`` (TOML), apply the ``model``'s ``<env_prefix>*`` environment overrides, validate.

    For the servers' settings (a pydantic-settings ``model`` whose ``env_prefix`` is ``env_prefix``).
    Raises :class:`ConfigError` listing every problem with its key path.
    """
    source = str(path)
    data = load_toml(Path(path))
    try:
        env_values = EnvSettingsSource(model)()
    except SettingsError as exc:
        raise ConfigError(source, [f"environment ({env_prefix}*): {exc}"]) from None
    if env_values:
        # Say where a value came from: an error in an override is not to be looked for in the file.
        source += " with " + ", ".join(
            env_prefix + key.upper() + "*" * isinstance(env_values[key], dict) for key in sorted(env_values)
        )
    try:
        return model(**deep_merge(data, env_values))
    except ValidationError as exc:
        raise ConfigError(source, validation_lines(exc)) from None


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if isinstance(value, str):
        try:
            # strict=False: "10.1.2.3/8" means the network 10.0.0.0/8, as operators write it.
            return ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an IP address or CIDR network")


#: A config value that is an IP address or a CIDR network (e.g. ``trusted_proxies``).
Network = Annotated[ipaddress.IPv4Network | ipaddress.IPv6Network, PlainValidator(_network)]


def check_mqtt_url(value: str) -> str:
    """``value`` when it is a broker URL (``mqtt://host[:port]`` or ``mqtts://…``) without credentials in
    it; else ValueError in words (for pydantic validators). Credentials go in ``username``/``password_file``."""
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("the port is not a number") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials; use username and password_file")
    return value
