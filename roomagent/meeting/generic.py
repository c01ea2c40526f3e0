"""Any other allowed meeting page: one window on the media screen, nothing remote-controlled.

The page gets camera and microphone (the media session's permission policy), but the room cannot
know how to mute it or change its layout, so those commands answer ``unsupported`` rather than
pretending.
"""

from __future__ import annotations

from roomagent.core import events as ev
from roomagent.core.platforms import GENERIC
from roomagent.meeting.base import MeetingAdapter


class GenericAdapter(MeetingAdapter):
    """See the module docstring."""

    capabilities = GENERIC.capabilities

    def join(self) -> None:
        screen = self.request.media_screen
        self.emit(ev.JoinPlanned(attempt=self.request.attempt, screens=(screen.id,), capabilities=()))
        session = self.open(screen.id, True)
        session.loaded.connect(self._on_loaded)
        session.load(self.request.meeting.join_url)

    def _on_loaded(self, ok: bool, url: str) -> None:
        if url != "about:blank" and not self.closing:
            screen = self.request.media_screen.id
            self.screen_loaded(screen, ok, "" if ok else "the meeting page did not load")
