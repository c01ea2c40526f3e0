"""Template helpers of the dashboard's pages: long room text shortened *with a mark*.

Tiles have room for a line or two; a room's error message or warning can be much longer. Text cut for
display ends in an ellipsis and carries the whole text in its ``title`` (shown on hover, read by screen
readers), so a cut is never silent. Everything stays escaped: the helpers build markup only around text
that Markup.format escapes.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

#: How the model marks text it cut at its own storage bound (model._text).
ELLIPSIS = "…"


def clip(value: Any, limit: int = 80) -> Markup:
    """``value`` as escaped text, at most ``limit`` characters; a cut one ends in "…" and has the whole
    text in its title."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        if not text.endswith(ELLIPSIS):
            return escape(text)
        # Already cut by the model (far longer than any display): marked the same way.
        return Markup('<span class="clipped" title="{}">{}</span>').format(text, text)
    return Markup('<span class="clipped" title="{}">{}</span>').format(text, text[: max(1, limit - 1)] + ELLIPSIS)


def install(env: Environment) -> None:
    """Register the filters on the pages' Jinja2 environment."""
    env.filters["clip"] = clip
