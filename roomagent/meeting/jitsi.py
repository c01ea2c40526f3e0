"""Jitsi Meet through its documented IFrame API: one local wrapper page per room screen.

Each screen joins as its own participant. The wrapper (``js/jitsi_wrapper.html``) is shown with the
meeting host's origin, loads ``external_api.js`` from that host and creates ``JitsiMeetExternalAPI``
with the room's JWT, no pre-join page, no deep linking, an empty toolbar and the room's display
name. Only the media screen has a microphone and camera; the others start with both muted.
Everything here is documented API (commands ``toggleAudio``, ``setTileView``, ``toggleFilmStrip``,
``hangup``; events ``audioMuteStatusChanged``, ``videoConferenceJoined``, ``videoConferenceLeft``,
``readyToClose``, ``participantKickedOut``, ``errorOccurred``) — nothing DOM-level.
"""

from __future__ import annotations

import html
import json
import logging
from urllib.parse import urlsplit

from PySide6.QtCore import QTimer

from roomagent.core import events as ev
from roomagent.core.commands import AdapterAction, ErrorCode
from roomagent.core.layouts import JitsiSettings, Layout
from roomagent.core.meeting_url import jitsi_room
from roomagent.core.platforms import JITSI
from roomagent.meeting.base import MUTE_READBACK_S, SHARE_TIMEOUT_S, JoinRequest, MeetingAdapter, js_asset

log = logging.getLogger("roomagent.meeting.jitsi")


def wrapper_options(join_url: str, *, media: bool, display_name: str, screen_id: str, share_camera: bool,
                    settings: JitsiSettings, source_device: str = "") -> dict:
    """The ``JitsiMeetExternalAPI`` arguments of one screen (JSON-able)."""
    parts = urlsplit(join_url)
    tenant, room, jwt = jitsi_room(join_url)
    config = {
        "prejoinConfig": {"enabled": False},
        "prejoinPageEnabled": False,
        "disableDeepLinking": True,
        "toolbarButtons": [],
        "startWithAudioMuted": not media,
        "startWithVideoMuted": not (media and share_camera),
        "disableInitialGUM": not media,
        "p2p": {"enabled": False},
    }
    if source_device:
        config["_desktopSharingSourceDevice"] = source_device
    options: dict = {
        "roomName": f"{tenant}/{room}" if tenant else room,
        "configOverwrite": config,
        "interfaceConfigOverwrite": {"SHOW_JITSI_WATERMARK": False, "DISABLE_JOIN_LEAVE_NOTIFICATIONS": True},
        "userInfo": {"displayName": display_name if media else f"{display_name} ({screen_id})"},
    }
    if jwt:
        options["jwt"] = jwt
    return {"domain": parts.netloc, "options": options,
            "layout": {"tile_view": settings.tile_view, "filmstrip": settings.filmstrip}}


def wrapper_page(join_url: str, config: dict) -> str:
    """The wrapper page's HTML for one screen."""
    parts = urlsplit(join_url)
    api_url = f"{parts.scheme}://{parts.netloc}/external_api.js"
    # No raw "<" in the inline JSON: a hostile name or token can neither close the script element nor
    # switch the parser into its escaped-script states.
    blob = json.dumps(config).replace("<", "\\u003c")
    return js_asset("jitsi_wrapper.html").replace("%(config)s", blob).replace("%(api_url)s", html.escape(api_url))


def share_device(request: JoinRequest) -> str:
    """The input the media participant may share: the ``share_device`` option if given, else the first
    input present at join (its label, else its product name)."""
    if "share_device" in request.options:
        return request.options["share_device"]
    present = [src for src in request.sources if src.present]
    return present[0].label or present[0].product if present else ""


class JitsiAdapter(MeetingAdapter):
    """See the module docstring."""

    capabilities = JITSI.capabilities

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._mute_waiters: list[tuple[bool, str, str]] = []
        self._muted: bool | None = None
        # The media participant's _desktopSharingSourceDevice: set at construction only, so another
        # input means a new wrapper (the media participant rejoins, the others stay).
        self._device = str(share_device(self.request) or "")
        self._sharing = False
        self._share_waiter: tuple[str, str, str] | None = None

    def join(self) -> None:
        request = self.request
        self._layout = request.layout
        self.emit(ev.JoinPlanned(attempt=request.attempt, screens=tuple(s.id for s in request.screens),
                                 capabilities=tuple(self.capabilities)))
        for screen in request.screens:
            session = self.open(screen.id, screen.media)
            session.enable_bridge()
            session.message.connect(lambda msg, s=screen.id, m=screen.media: self._on_message(s, m, msg))
            session.loaded.connect(lambda ok, url, s=screen.id: self._on_loaded(s, ok, url))
            self._load_wrapper(screen, session)

    def _load_wrapper(self, screen, session, *, share_on_join: bool = False) -> None:
        request = self.request
        parts = urlsplit(request.meeting.join_url)
        config = wrapper_options(request.meeting.join_url, media=screen.media, screen_id=screen.id,
                                 display_name=request.display_name, share_camera=request.share_camera,
                                 settings=self._settings(screen.role, self._layout),
                                 source_device=self._device if screen.media else "")
        config["share_on_join"] = share_on_join
        session.load_html(wrapper_page(request.meeting.join_url, config),
                          f"{parts.scheme}://{parts.netloc}/roomagent-wrapper/{screen.id}")
        if not any(s.media for s in request.screens):
            self._muted = None

    @staticmethod
    def _settings(role: str, layout: Layout | None) -> JitsiSettings:
        return layout.settings_for(role, JITSI.layout_key) if layout is not None else JitsiSettings()

    def _on_loaded(self, screen_id: str, ok: bool, url: str) -> None:
        if not ok and screen_id not in self.joined and not self.closing:
            self.screen_loaded(screen_id, False, "the Jitsi wrapper page did not load")

    def _on_message(self, screen_id: str, media: bool, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "jitsi.unavailable":
            self.screen_loaded(screen_id, False, str(msg.get("message", ""))[:200])
            return
        if kind != "jitsi.event":
            return
        name, data = msg.get("name"), msg.get("data")
        data = data if isinstance(data, dict) else {}
        if self.closing:
            # Our hangup finished (the conference said goodbye): now the wrapper may go.
            session = self.sessions.get(screen_id)
            if name in ("readyToClose", "videoConferenceLeft") and session is not None and not session.unloading:
                session.unload()
            return
        if name == "videoConferenceJoined":
            self.screen_loaded(screen_id, True)
        elif name == "audioMuteStatusChanged" and media and isinstance(data.get("muted"), bool):
            self._muted = data["muted"]
            self.emit(ev.MuteChanged(muted=self._muted))
            self._settle_mute()
        elif name == "screenSharingStatusChanged" and media:
            self._sharing = data.get("on") is True
            if self._share_waiter is not None and self._sharing:
                source_id, command_id, origin = self._share_waiter
                self._share_waiter = None
                self._done(AdapterAction.SHARE, command_id, origin, ok=True, source=source_id)
            elif not self._sharing:
                self.emit(ev.ActionDone(action=AdapterAction.STOP_SHARE, ok=True))
        elif name == "participantKickedOut" and _local(data.get("kicked")):
            self.emit(ev.MeetingEnded(reason="removed from the meeting", kicked=True))
        elif name in ("readyToClose", "videoConferenceLeft") and not self.closing:
            self.emit(ev.MeetingEnded(reason="the conference has ended" if name == "readyToClose" else "left the conference"))
        elif name == "errorOccurred":
            # The IFrame API documents a flat payload {name, message, type, isFatal}; older
            # clients nested it under "error". Both are read.
            error = data.get("error") if isinstance(data.get("error"), dict) else data
            detail = str(error.get("name") or "unknown error")[:200]
            if error.get("isFatal") is not True:
                log.info("Jitsi reported a recoverable error on %s: %s", screen_id, detail)
            elif screen_id not in self.joined:
                self.screen_loaded(screen_id, False, f"Jitsi: {detail}")
            else:
                self.emit(ev.MeetingEnded(reason=f"Jitsi: {detail}"))

    # -- commands -----------------------------------------------------------------------------------
    def set_muted(self, muted: bool, command_id: str = "", origin: str = "") -> None:
        media = self.sessions.get(self.request.media_screen.id)
        if media is None or self.request.media_screen.id not in self.joined:
            self._done(AdapterAction.MUTE, command_id, origin, ok=False, code=ErrorCode.FAILED, message="the room has not joined the audio yet")
            return
        entry = (muted, command_id, origin)
        self._mute_waiters.append(entry)

        def sent(result, error) -> None:
            if error is not None and entry in self._mute_waiters:
                self._mute_waiters.remove(entry)
                self._done(AdapterAction.MUTE, command_id, origin, ok=False, code=ErrorCode.FAILED, message=f"Jitsi: {error}")

        media.run_json(f"window.__roomagentJitsi.setMuted({json.dumps(muted)})", sent)
        QTimer.singleShot(int(MUTE_READBACK_S * 1000), self, lambda: self._give_up(entry))

    def _settle_mute(self) -> None:
        done = [w for w in self._mute_waiters if w[0] == self._muted]
        self._mute_waiters = [w for w in self._mute_waiters if w[0] != self._muted]
        for want, command_id, origin in done:
            self._done(AdapterAction.MUTE, command_id, origin, ok=True, muted=want)

    def _give_up(self, entry: tuple[bool, str, str]) -> None:
        if entry in self._mute_waiters:
            self._mute_waiters.remove(entry)
            self._done(AdapterAction.MUTE, entry[1], entry[2], ok=False, code=ErrorCode.FAILED,
                       message="Jitsi did not report the microphone change")

    def set_layout(self, layout: Layout, command_id: str = "", origin: str = "") -> None:
        self._layout = layout
        targets = {s.id: self._settings(s.role, layout) for s in self.request.screens if s.id in self.joined}
        if not targets:
            self._done(AdapterAction.LAYOUT, command_id, origin, ok=False, code=ErrorCode.FAILED, message="no screen has joined yet")
            return
        pending, failed = set(targets), []

        def answered(screen_id: str, result, error) -> None:
            pending.discard(screen_id)
            if error is not None:
                failed.append(f"{screen_id}: {error}")
            if not pending:
                if failed:
                    self._done(AdapterAction.LAYOUT, command_id, origin, ok=False, code=ErrorCode.FAILED, message="; ".join(failed))
                else:
                    self._done(AdapterAction.LAYOUT, command_id, origin, ok=True, layout=layout.name, method="command")

        for screen_id, settings in targets.items():
            arg = json.dumps({"tile_view": settings.tile_view, "filmstrip": settings.filmstrip})
            self.sessions[screen_id].run_json(f"window.__roomagentJitsi.apply({arg})",
                                              lambda r, e, s=screen_id: answered(s, r, e))

    def share_source(self, source, command_id: str = "", origin: str = "") -> None:
        screen = self.request.media_screen
        session = self.sessions.get(screen.id)
        if session is None or screen.id not in self.joined:
            self._done(AdapterAction.SHARE, command_id, origin, ok=False, code=ErrorCode.FAILED, message="the room has not joined yet")
            return
        label = source.label or source.product
        waiter = (source.id, command_id, origin)
        self._share_waiter = waiter
        QTimer.singleShot(int(SHARE_TIMEOUT_S * 1000), self, lambda: self._share_timeout(waiter))
        if label == self._device:
            session.run_json("window.__roomagentJitsi.command('toggleShareScreen')", lambda r, e: None)
            return
        self._device = label
        log.info("rejoining the media participant with input %s as its sharing device", source.id)
        self._load_wrapper(screen, session, share_on_join=True)

    def _share_timeout(self, waiter: tuple[str, str, str]) -> None:
        if self._share_waiter == waiter:
            self._share_waiter = None
            self._done(AdapterAction.SHARE, waiter[1], waiter[2], ok=False, code=ErrorCode.TIMEOUT,
                       message="Jitsi did not start sharing the input (is it connected, and not in use?)")

    def stop_share(self, command_id: str = "", origin: str = "") -> None:
        session = self.sessions.get(self.request.media_screen.id)
        if self._sharing and session is not None:
            session.run_json("window.__roomagentJitsi.command('toggleShareScreen')", lambda r, e: None)
        self._done(AdapterAction.STOP_SHARE, command_id, origin, ok=True)

    def _say_goodbye(self, screen_id: str, session) -> None:
        # hangup first (the others see the room leave at once); the wrapper is unloaded when Jitsi says
        # readyToClose / videoConferenceLeft, or at once when there is no conference to leave. The base
        # class closes everything after LEAVE_GRACE_S whatever happens.
        def sent(result, error) -> None:
            if result is not True and not session.unloading:
                session.unload()

        session.run_json("window.__roomagentJitsi ? window.__roomagentJitsi.hangup() : false", sent)


def _local(kicked: object) -> bool:
    return isinstance(kicked, dict) and kicked.get("local") is True
