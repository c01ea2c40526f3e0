"""``GET /server``: ordering, wildcard search and pagination of the configured meeting servers.

Pure functions, no I/O. The order is the seed's: the default server first (when it is among the
results), then by name ascending (case-insensitive, id breaks ties so pages are stable).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def glob_match(pattern: str, text: str) -> bool:
    """``*`` (any run) and ``?`` (one character) match over the whole of ``text``.

    A greedy two-pointer matcher rather than a regular expression: a hostile ``*a*a*a*...`` search must
    cost O(len(pattern) * len(text)), not backtrack exponentially.
    """
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]) and pattern[p] != "*":
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def name_matcher(search: str | None) -> Callable[[str], bool]:
    """A predicate on server names: wildcard match when ``search`` has ``*``/``?``, else substring.

    Case-insensitive; an empty or missing search matches everything.
    """
    needle = (search or "").strip().casefold()
    if not needle:
        return lambda name: True
    if "*" in needle or "?" in needle:
        return lambda name: glob_match(needle, name.casefold())
    return lambda name: needle in name.casefold()


@dataclass(frozen=True)
class Page:
    """One page of results and the seed's pagination figures."""

    items: list
    total: int
    per_page: int
    current_page: int
    start: int
    end: int


def server_page(
    servers: Sequence[T],
    *,
    name: Callable[[T], str],
    ident: Callable[[T], str],
    default_id: str | None,
    search: str | None,
    page: int,
    per_page: int,
) -> Page:
    """Filter, order and cut ``servers``; ``start``/``end`` are 1-based, both 0 on an empty page."""
    match = name_matcher(search)
    found = sorted((s for s in servers if match(name(s))), key=lambda s: (name(s).casefold(), ident(s)))
    if default_id is not None:
        for i, server in enumerate(found):
            if ident(server) == default_id:
                found.insert(0, found.pop(i))
                break
    offset = (page - 1) * per_page
    items = found[offset : offset + per_page]
    return Page(
        items=items,
        total=len(found),
        per_page=per_page,
        current_page=page,
        start=offset + 1 if items else 0,
        end=offset + len(items) if items else 0,
    )
