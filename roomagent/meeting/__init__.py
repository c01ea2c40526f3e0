"""Meeting platform adapters (BigBlueButton 3, Jitsi Meet, generic) behind one interface (``base``)."""

from __future__ import annotations

import importlib

from roomagent.core.platforms import platform as platform_record


def adapter_class(platform: str) -> type:
    """The adapter class of the platform record called ``platform`` (see ``roomagent.core.platforms``).

    Raises :class:`roomagent.core.platforms.UnknownPlatform` for a name no record carries.
    """
    module, _, name = platform_record(platform).adapter.partition(":")
    return getattr(importlib.import_module(module), name)
