"""Meeting platform adapters (BigBlueButton 3, Jitsi Meet, generic) behind one interface (``base``)."""

from __future__ import annotations


def adapter_class(platform: str) -> type:
    """The adapter class for a platform name from :func:`roomagent.core.meeting_url.describe_join_url`."""
    if platform == "bbb":
        from roomagent.meeting.bbb import BbbAdapter

        return BbbAdapter
    if platform == "jitsi":
        from roomagent.meeting.jitsi import JitsiAdapter

        return JitsiAdapter
    from roomagent.meeting.generic import GenericAdapter

    return GenericAdapter
