"""Which room screen goes on which display: by the configured output name, else by position."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """``display`` is an index into the available displays, or None when there is none left."""

    screen_id: str
    display: int | None
    warning: str = ""


def place_screens(wanted: list[tuple[str, str | None]], displays: list[str],
                  reserved: frozenset[int] = frozenset()) -> list[Placement]:
    """Map ``(screen id, output name)`` pairs onto ``displays`` (QScreen names, in Qt's order).

    A named output that exists is used. A screen without a name, or whose output is missing, takes the
    next display nobody claimed (skipping ``reserved`` ones such as the panel's), with a warning for the
    missing name. A screen left without a display gets ``None`` and is hidden: stacking it over another
    screen would cover that screen's meeting, or the keypad, with the wrong picture.
    """
    taken = set(reserved)
    result: dict[str, Placement] = {}
    for screen_id, output in wanted:
        if output and output in displays:
            index = displays.index(output)
            taken.add(index)
            result[screen_id] = Placement(screen_id, index)
    free = [i for i in range(len(displays)) if i not in taken]
    for screen_id, output in wanted:
        if screen_id in result:
            continue
        warning = f"output {output} not found; placed by position" if output else ""
        if free:
            result[screen_id] = Placement(screen_id, free.pop(0), warning)
        else:
            result[screen_id] = Placement(screen_id, None, (warning + "; " if warning else "")
                                          + "no free display; hidden until one appears")
    return [result[screen_id] for screen_id, _ in wanted]
