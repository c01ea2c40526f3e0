"""Loading layouts: the shipped ``layouts/*.toml`` plus a room's own ``[layouts.<name>]`` tables.

The shipped files are the project's top-level ``layouts/`` folder, installed inside the package as
``roomagent/layouts_data`` (a symlink in the source tree, copied into the wheel).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from roomagent.configload import ConfigError, deep_merge, load_toml, validation_lines
from roomagent.core.layouts import NAME_PATTERN, Layout, available

#: Preferred defaults when the profile names none: the first one the room can show wins.
DEFAULT_ORDER = ("lecture", "single-screen")


def shipped_dir() -> Path:
    """The folder with the shipped layout files."""
    return Path(__file__).parent / "layouts_data"


def read_layout_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Raw tables of every ``*.toml`` in ``folder``, by file stem, in name order."""
    return {path.stem: load_toml(path) for path in sorted(folder.glob("*.toml"))}


def build_layouts(raw: Mapping[str, Mapping[str, Any]], source: str) -> dict[str, Layout]:
    """Validate raw layout tables; raise :class:`ConfigError` listing every problem with its key path."""
    layouts: dict[str, Layout] = {}
    problems: list[str] = []
    for name, table in raw.items():
        try:
            layouts[name] = Layout(name=name, **dict(table))
        except ValidationError as exc:
            problems += [f"layouts.{name}.{line}" for line in validation_lines(exc)]
        except TypeError:
            problems.append(f"layouts.{name}: must be a table")
    if problems:
        raise ConfigError(source, problems)
    return layouts


def room_layouts(profile) -> tuple[dict[str, Layout], str | None, list[str]]:
    """The room's layouts (shipped, overridden table by table by the profile's), its default, and notes.

    Raises :class:`ConfigError` for a broken layout, or a default layout that is unknown or names a
    role the room lacks. Layouts the room cannot show are not errors: they are listed in the notes.
    """
    raw = read_layout_files(shipped_dir())
    for name, table in profile.layouts.items():
        raw[name] = deep_merge(raw.get(name, {}), table)
    layouts = build_layouts(raw, "layouts")
    roles = [s.role for s in profile.screens]
    usable = {layout.name for layout in available(layouts.values(), roles)}
    notes = [
        f"layout {name!r} is not offered in this room: no screen with role "
        + ", ".join(repr(r) for r in sorted(layout.required_roles - set(roles)))
        for name, layout in layouts.items() if name not in usable
    ]
    default = profile.meeting.default_layout
    if default is not None:
        if default not in layouts:
            raise ConfigError("profile", [f"meeting.default_layout: unknown layout {default!r}; "
                                          f"known: {', '.join(sorted(layouts))}"])
        if default not in usable:
            missing = sorted(layouts[default].required_roles - set(roles))
            raise ConfigError("profile", [f"meeting.default_layout: layout {default!r} needs a screen with "
                                          f"role {', '.join(map(repr, missing))}, which this room lacks"])
    else:
        default = next((n for n in DEFAULT_ORDER if n in usable), next(iter(sorted(usable)), None))
    return layouts, default, notes


__all__ = ["NAME_PATTERN", "room_layouts", "build_layouts", "read_layout_files", "shipped_dir"]
