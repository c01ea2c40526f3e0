"""BigBlueButton 3: one session per room screen, each with its own enforced layout.

Documented paths: the join redirect chain and ``getJoinUrl`` (``bbb_api``), ``enforceLayout`` and
``userdata-bbb_*`` (incl. ``bbb_custom_style``), the ``SET_ENFORCED_LAYOUT`` ui-command event.
DOM-level (fragile, each in one named file): the mic buttons (``js/bbb_mute.js``), the end screen and
the mic state observer (``js/bbb_room.js``), the hidden poll/chat/notes panels (``js/bbb_room.css``),
joining or leaving audio and camera by hand (``js/bbb_audio.js``).

The room user is a VIEWER, and bbb-web may drop a VIEWER's getJoinUrl parameters without saying so
(BBB PR #21836 without PR #22943). The minted URL shows what was kept (``bbb_api.MintedUrl.dropped``);
what was dropped the room's own page applies: the layout through the ui-command events, the audio
split by clicking the client's audio controls (``bbb_audio.js``). The style is always injected.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

from PySide6.QtCore import QTimer

from roomagent.core import events as ev
from roomagent.core.commands import AdapterAction, Capability, ErrorCode
from roomagent.core.layouts import BbbSettings, Layout
from roomagent.core.platforms import BBB
from roomagent.meeting import bbb_api
from roomagent.meeting.base import MUTE_READBACK_S, SHARE_TIMEOUT_S, MeetingAdapter, js_asset

log = logging.getLogger("roomagent.meeting.bbb")

#: userdata that make up a screen's audio/camera split; if the server dropped any, the page does it.
AUDIO_USERDATA = ("bbb_auto_join_audio", "bbb_listen_only_mode", "bbb_skip_check_audio", "bbb_auto_share_webcam")

#: userdata every room session joins with: no previews or pop-ups on a projector, panels closed.
ROOM_USERDATA: dict[str, str | bool | int] = {
    "bbb_skip_video_preview": True,
    "bbb_show_participants_on_login": False,
    "bbb_show_public_chat_on_login": False,
    "bbb_hide_notifications": True,
}


def page_traits(dropped: tuple[str, ...], *, media: bool, share_camera: bool,
                layout: str | None) -> dict:
    """What one screen's page must apply itself because the server dropped its join parameter:
    ``{"layout": <enforceLayout> or None, "audio": {"media", "camera"} or None}``."""
    audio_lost = any(f"userdata-{key}" in dropped for key in AUDIO_USERDATA)
    return {
        "layout": layout if layout and "enforceLayout" in dropped else None,
        "audio": {"media": media, "camera": media and share_camera} if audio_lost else None,
    }


def session_userdata(media: bool, share_camera: bool, settings: BbbSettings, css: str) -> dict:
    """The ``userdata-bbb_*`` of one screen's session: only the media session has audio (and camera)."""
    data: dict[str, str | bool | int] = dict(ROOM_USERDATA)
    if media:
        data.update(bbb_auto_join_audio=True, bbb_listen_only_mode=False, bbb_skip_check_audio=True,
                    bbb_auto_share_webcam=share_camera)
    else:
        data.update(bbb_auto_join_audio=False, bbb_listen_only_mode=False, bbb_auto_share_webcam=False)
    # Comments out, one line: a comment's inner lines left in would become part of the first selector,
    # and the browser would drop that rule.
    data["bbb_custom_style"] = " ".join(re.sub(r"/\*.*?\*/", " ", css, flags=re.S).split())
    data.update(settings.userdata)
    return data


class BbbAdapter(MeetingAdapter):
    """See the module docstring. Options: ``layout_method`` "event" (default) or "reload"."""

    capabilities = BBB.capabilities

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._client = None
        self._user: bbb_api.BbbUser | None = None
        self._legacy = False
        self._css = js_asset("bbb_room.css")
        self._room_js = js_asset("bbb_room.js").replace("%(css)s", json.dumps(self._css))
        self._audio_js = js_asset("bbb_audio.js")
        #: Per screen: what its page applies itself (:func:`page_traits`), from the last minted URL.
        self._traits: dict[str, dict] = {}
        self._mute_js = js_asset("bbb_mute.js")
        self._share_js = js_asset("bbb_share.js")
        self._share_waiter: tuple[str, str, str] | None = None
        self._mic: bool | None = None
        self._mute_waiters: list = []

    # -- join ---------------------------------------------------------------------------------------
    def join(self) -> None:
        request = self.request
        self._client = bbb_api.make_client()
        plans = [(s, self._settings(s.role)) for s in request.screens]

        def work() -> dict[str, bbb_api.MintedUrl]:
            user = bbb_api.resolve_join(self._client, request.meeting.join_url, request.allowed_hosts)
            self._user = user
            urls: dict[str, bbb_api.MintedUrl] = {}
            for screen, settings in plans:
                urls[screen.id] = self._mint(user, screen.id, screen.media, settings)
            return urls

        self.run_in_worker(work, self._on_urls)

    def _settings(self, role: str, layout: Layout | None = None) -> BbbSettings:
        chosen = layout or self.request.layout
        return chosen.settings_for(role, BBB.layout_key) if chosen is not None else BbbSettings()

    def _mint(self, user: bbb_api.BbbUser, screen_id: str, media: bool, settings: BbbSettings) -> bbb_api.MintedUrl:
        userdata = session_userdata(media, self.request.share_camera, settings, self._css)
        return bbb_api.get_join_url(self._client, user, session_name=screen_id,
                                    enforce_layout=settings.enforce_layout, userdata=userdata,
                                    allowed_hosts=self.request.allowed_hosts)

    def _on_urls(self, urls: dict[str, bbb_api.MintedUrl] | None, error: BaseException | None) -> None:
        attempt = self.request.attempt
        if isinstance(error, bbb_api.NoGetJoinUrl):
            self._join_legacy(str(error))
            return
        if error is not None or urls is None:
            log.warning("BigBlueButton join failed: %s", error)
            if isinstance(error, bbb_api.HostRefused):
                self.emit(ev.JoinFailed(attempt=attempt, detail=error.host, kind="host_not_allowed"))
            elif "meetingNotFound" in str(error):  # it ended while the room was away (a rejoin)
                self.emit(ev.JoinFailed(attempt=attempt, detail=str(error), kind="meeting_ended"))
            else:
                self.emit(ev.JoinFailed(attempt=attempt, detail=str(error)))
            return
        self.emit(ev.JoinPlanned(attempt=attempt, screens=tuple(urls), capabilities=tuple(self.capabilities)))
        self._note_dropped(urls)
        for screen in self.request.screens:
            self._open_screen(screen.id, screen.media, urls[screen.id].url)

    def _note_dropped(self, urls: dict[str, bbb_api.MintedUrl], layout: Layout | None = None) -> None:
        """Remember per screen what its page applies itself; say what the server dropped."""
        dropped = sorted({name for minted in urls.values() for name in minted.dropped})
        for screen in self.request.screens:
            if screen.id in urls:
                settings = self._settings(screen.role, layout)
                self._traits[screen.id] = page_traits(urls[screen.id].dropped, media=screen.media,
                                                      share_camera=self.request.share_camera,
                                                      layout=settings.enforce_layout)
        if dropped:
            log.warning("the meeting server dropped %s from the room's getJoinUrl (the room user is a VIEWER; "
                        "BigBlueButton without PR #22943?): the room's pages apply layout and audio themselves",
                        ", ".join(dropped))

    def _join_legacy(self, why: str) -> None:
        # BBB 2.x: no extra sessions. The one session goes on the first screen and carries the audio;
        # the browser follows the original join link itself so that it gets its own session cookie.
        self._legacy = True
        first = self.request.screens[0]
        warning = f"{why}: the meeting is shown on screen {first.id} only, without room layouts"
        self.emit(ev.JoinPlanned(attempt=self.request.attempt, screens=(first.id,), capabilities=(Capability.MUTE, Capability.SHARE),
                                 warning=warning))
        self._open_screen(first.id, True, self.request.meeting.join_url)

    def _open_screen(self, screen_id: str, media: bool, url: str) -> None:
        session = self.open(screen_id, media)
        session.enable_bridge()
        self._add_page_scripts(screen_id)
        session.loaded.connect(lambda ok, page_url, s=screen_id: self._on_loaded(s, ok, page_url))
        session.message.connect(lambda msg, s=screen_id, m=media: self._on_message(s, m, msg))
        session.load(url)

    def _add_page_scripts(self, screen_id: str) -> None:
        """(Re)place the scripts the screen's next document gets: its page-applied traits baked in."""
        traits = self._traits.get(screen_id) or page_traits((), media=False, share_camera=False, layout=None)
        session = self.sessions[screen_id]
        session.add_script("roomagent-bbb-room", self._room_js.replace("%(layout)s", json.dumps(traits["layout"])))
        # Only where the server dropped the audio userdata: otherwise the client's own join does it.
        audio = self._audio_js.replace("%(audio)s", json.dumps(traits["audio"])) if traits["audio"] else ""
        session.add_script("roomagent-bbb-audio", audio)

    # -- what the pages say -------------------------------------------------------------------------
    def _on_loaded(self, screen_id: str, ok: bool, url: str) -> None:
        if self.closing or url == "about:blank":
            return
        in_client = "/html5client" in urlsplit(url).path
        if screen_id not in self.joined:
            if ok and in_client:
                self.screen_loaded(screen_id, True)
            else:
                self.screen_loaded(screen_id, False, "the meeting server refused this screen's session"
                                   if ok else "the meeting page did not load")
            return
        if ok and in_client:
            self.screen_loaded(screen_id, True)  # reloaded into the meeting (after a crash, a reload)
            return
        if ok and not in_client:
            # Navigation away from the client: the logout URL after the meeting ended or a kick.
            reason = (parse_qs(urlsplit(url).query).get("reason") or [""])[0]
            kicked = reason in ("removed", "ejected", "user_requested_eject_reason")
            self.emit(ev.MeetingEnded(reason=reason or "the meeting client was closed", kicked=kicked))

    def _on_message(self, screen_id: str, media: bool, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "bbb.mic" and media:
            muted = msg.get("muted")
            if muted is None or isinstance(muted, bool):
                self._mic = muted
                self.emit(ev.MuteChanged(muted=muted))
                self._settle_mute()
        elif kind in ("share.started", "share.failed") and media:
            self._share_result(kind == "share.started", msg)
        elif kind == "share.ended" and media:
            self.emit(ev.ActionDone(action=AdapterAction.STOP_SHARE, ok=True, message="the shared input stopped"))
        elif kind == "bbb.ended" and screen_id in self.joined:
            kicked = msg.get("kicked") is True
            self.emit(ev.MeetingEnded(reason="removed from the meeting" if kicked else "the meeting has ended",
                                      kicked=kicked))

    # -- mute ---------------------------------------------------------------------------------------
    def set_muted(self, muted: bool, command_id: str = "", origin: str = "") -> None:
        media = self._media_session()
        if media is None:
            self._done(AdapterAction.MUTE, command_id, origin, ok=False, code=ErrorCode.FAILED, message="the room has no audio session")
            return

        def clicked(result, error) -> None:
            if error is not None or not isinstance(result, dict) or not result.get("found"):
                why = error or "the meeting client shows no microphone button (is the room's audio connected?)"
                self._done(AdapterAction.MUTE, command_id, origin, ok=False, code=ErrorCode.FAILED, message=f"cannot {verb}: {why}")
                return
            self._mute_waiters.append((muted, command_id, origin))
            if not result.get("clicked"):
                self._settle_mute()
            else:
                QTimer.singleShot(int(MUTE_READBACK_S * 1000), self, lambda: self._give_up_mute(muted, command_id, origin))

        verb = "mute" if muted else "unmute"
        media.run_json(self._mute_js.replace("WANT", "true" if muted else "false"), clicked)

    def _settle_mute(self) -> None:
        still = []
        for want, command_id, origin in self._mute_waiters:
            if self._mic == want:
                self._done(AdapterAction.MUTE, command_id, origin, ok=True, muted=want)
            else:
                still.append((want, command_id, origin))
        self._mute_waiters = still

    def _give_up_mute(self, want: bool, command_id: str, origin: str) -> None:
        entry = (want, command_id, origin)
        if entry in self._mute_waiters:
            self._mute_waiters.remove(entry)
            self._done(AdapterAction.MUTE, command_id, origin, ok=False, code=ErrorCode.FAILED,
                       message=f"the meeting client did not {'mute' if want else 'unmute'} the microphone")

    def _media_session(self):
        if self._legacy:
            return next(iter(self.sessions.values()), None)
        media = self.request.media_screen.id
        return self.sessions.get(media) if media in self.joined else None

    # -- share --------------------------------------------------------------------------------------
    def share_source(self, source, command_id: str = "", origin: str = "") -> None:
        media = self._media_session()
        if media is None:
            self._done(AdapterAction.SHARE, command_id, origin, ok=False, code=ErrorCode.FAILED, message="the room has no media session")
            return
        if self._share_waiter is not None:
            self._done(AdapterAction.SHARE, command_id, origin, ok=False, code=ErrorCode.BUSY, message="a share is already starting")
            return
        waiter = (source.id, command_id, origin)
        self._share_waiter = waiter

        def clicked(result, error) -> None:
            if error is not None or not isinstance(result, dict) or not result.get("ok"):
                why = error or (result or {}).get("error") or "unknown error"
                self._share_waiter = None
                self._done(AdapterAction.SHARE, command_id, origin, ok=False, code=ErrorCode.FAILED, message=f"cannot share {source.name}: {why}")
                return
            QTimer.singleShot(int(SHARE_TIMEOUT_S * 1000), self, lambda: self._share_timeout(waiter))

        media.run_json(self._share_js.replace("LABEL", json.dumps(source.label or source.product)), clicked)

    def _share_result(self, ok: bool, msg: dict) -> None:
        if self._share_waiter is None:
            return
        source_id, command_id, origin = self._share_waiter
        self._share_waiter = None
        if ok:
            self._done(AdapterAction.SHARE, command_id, origin, ok=True, source=source_id)
        else:
            error = str(msg.get("error") or "")
            code = ErrorCode.BUSY if error in ("NotReadableError", "AbortError") else ErrorCode.FAILED
            self._done(AdapterAction.SHARE, command_id, origin, ok=False, code=code,
                       message=f"the input could not be opened: {error} {str(msg.get('message') or '')[:200]}".strip())

    def _share_timeout(self, waiter: tuple[str, str, str]) -> None:
        if self._share_waiter == waiter:
            self._share_waiter = None
            self._done(AdapterAction.SHARE, waiter[1], waiter[2], ok=False, code=ErrorCode.TIMEOUT,
                       message="the meeting client did not start sharing")

    def stop_share(self, command_id: str = "", origin: str = "") -> None:
        media = self._media_session()
        js = ("(() => { const b = document.querySelector('[data-test=\"stopScreenShare\"]');"
              " if (b) { b.click(); } return !!b; })()")

        def clicked(result, error) -> None:
            # No stop button: the share already ended (the input went away), which is what was asked.
            self._done(AdapterAction.STOP_SHARE, command_id, origin, ok=error is None, code="" if error is None else ErrorCode.FAILED,
                       message="" if error is None else str(error))

        if media is None:
            self._done(AdapterAction.STOP_SHARE, command_id, origin, ok=True)
        else:
            media.run_json(js, clicked)

    # -- layout -------------------------------------------------------------------------------------
    def set_layout(self, layout: Layout, command_id: str = "", origin: str = "") -> None:
        if self._legacy:
            super().set_layout(layout, command_id, origin)
            return
        targets = {s.id: self._settings(s.role, layout) for s in self.request.screens if s.id in self.sessions}
        if self.request.options.get("layout_method", "event") == "reload":
            self._layout_by_reload(layout, targets, command_id, origin)
            return
        pending = set(targets)
        failed: list[str] = []

        def answered(screen_id: str, result, error) -> None:
            pending.discard(screen_id)
            if error is not None or result is not True:
                failed.append(screen_id)
            if not pending:
                if failed:  # the page could not take the event: fresh sessions with the new layout
                    self._layout_by_reload(layout, {s: targets[s] for s in failed}, command_id, origin)
                else:
                    self._remember_page_layout(targets)
                    self._done(AdapterAction.LAYOUT, command_id, origin, ok=True, layout=layout.name, method="event")

        for screen_id, settings in targets.items():
            self.sessions[screen_id].run_json(
                f"window.__roomagentBBB.setLayout({json.dumps(settings.enforce_layout)})",
                lambda r, e, s=screen_id: answered(s, r, e))

    def _remember_page_layout(self, targets: dict[str, BbbSettings]) -> None:
        """A page that applies its layout itself must come back (crash, reload) with the new one."""
        for screen_id, settings in targets.items():
            traits = self._traits.get(screen_id)
            if traits is not None and traits["layout"] is not None and screen_id in self.sessions:
                traits["layout"] = settings.enforce_layout
                self._add_page_scripts(screen_id)

    def _layout_by_reload(self, layout: Layout, targets: dict[str, BbbSettings], command_id: str,
                          origin: str) -> None:
        user = self._user
        media = self.request.media_screen.id

        def work() -> dict[str, bbb_api.MintedUrl]:
            return {sid: self._mint(user, sid, sid == media, settings) for sid, settings in targets.items()}

        def minted(urls, error) -> None:
            if error is not None or urls is None:
                self._done(AdapterAction.LAYOUT, command_id, origin, ok=False, code=ErrorCode.FAILED,
                           message=f"could not switch the layout: {error}")
                return
            waiting = set(urls)
            self._note_dropped(urls, layout)

            def reloaded(sid: str, ok: bool, url: str) -> None:
                if sid in waiting and "/html5client" in url:
                    waiting.discard(sid)
                    if not waiting:
                        self._done(AdapterAction.LAYOUT, command_id, origin, ok=True, layout=layout.name, method="reload")

            for sid, link in urls.items():
                session = self.sessions[sid]
                self._add_page_scripts(sid)
                session.loaded.connect(lambda ok, u, s=sid: reloaded(s, ok, u))
                session.load(link.url)

        self.run_in_worker(work, minted)

    def abandon(self) -> None:
        super().abandon()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def leave(self, done) -> None:
        client, self._client = self._client, None

        def finished() -> None:
            if client is not None:
                client.close()
            done()

        super().leave(finished)
