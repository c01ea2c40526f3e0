"""The fake Jitsi Meet: its HTTP side with httpx, ``external_api.js`` in a real QtWebEngine wrapper page."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pytestqt.qtbot import QtBot

from roomagent.ui.browser import BrowserSession
from tests.demo.conftest import LOAD_TIMEOUT_MS, MakeSession
from tests.demo.fixtures import JitsiServer

TIMEOUT_S = 5.0  # failure guard for loopback HTTP
EVENTS = (
    "videoConferenceJoined", "videoConferenceLeft", "readyToClose", "audioMuteStatusChanged",
    "tileViewChanged", "participantKickedOut", "errorOccurred", "screenSharingStatusChanged",
)


def _pending(server: JitsiServer, room: str, client: str) -> list[dict]:
    reply = httpx.get(f"{server.url}/_fake/pending", params={"room": room, "client": client}, timeout=TIMEOUT_S)
    reply.raise_for_status()
    return reply.json()


# -- HTTP ----------------------------------------------------------------------------------------------


def test_serves_the_api_script_and_the_conference_page(jitsi_server: JitsiServer) -> None:
    script = httpx.get(jitsi_server.api_url, timeout=TIMEOUT_S)
    assert script.headers["content-type"].startswith("application/javascript")
    assert "window.JitsiMeetExternalAPI" in script.text
    plain = httpx.get(f"{jitsi_server.url}/lecture1", timeout=TIMEOUT_S)
    tenant = httpx.get(f"{jitsi_server.url}/faculty/lecture2?jwt=abc", timeout=TIMEOUT_S)
    assert "lecture1 | Jitsi Meet" in plain.text and "faculty/lecture2 | Jitsi Meet" in tenant.text
    loads = jitsi_server.log("page_load")
    assert [(r["room"], r["tenant"], r["jwt"]) for r in loads] == [
        ("lecture1", None, None), ("faculty/lecture2", "faculty", "abc"),
    ]


def test_server_events_reach_every_client_of_the_room_in_order(jitsi_server: JitsiServer) -> None:
    jitsi_server.kick("r1")  # nobody listens yet: kept for the first client
    backlog = _pending(jitsi_server, "r1", "a")
    assert [e["name"] for e in backlog] == ["participantKickedOut", "videoConferenceLeft"]
    assert _pending(jitsi_server, "r1", "b") == []
    jitsi_server.end("r1")
    jitsi_server.error("r1", "conference.connectionError.someError")
    jitsi_server.mute("r1")
    jitsi_server.end("r2")
    for client in ("a", "b"):
        events = _pending(jitsi_server, "r1", client)
        assert [e["name"] for e in events] == [
            "videoConferenceLeft", "readyToClose", "errorOccurred", "audioMuteStatusChanged",
        ]
        assert events[0]["data"] == {"roomName": "r1"}
        assert events[2]["data"]["name"] == "conference.connectionError.someError"
        assert events[2]["data"]["isFatal"] is True
        assert events[3]["data"] == {"muted": True}
    assert _pending(jitsi_server, "r1", "a") == []
    controls = ["ctl_kick", "ctl_end", "ctl_error", "ctl_remote_mute", "ctl_end"]
    assert [r["kind"] for r in jitsi_server.log()] == controls
    jitsi_server.reset()
    assert jitsi_server.log() == [] and _pending(jitsi_server, "r2", "c") == []


def test_kick_payload_is_the_documented_one(jitsi_server: JitsiServer) -> None:
    _pending(jitsi_server, "r1", "a")
    jitsi_server.kick("r1")
    kicked, left = _pending(jitsi_server, "r1", "a")
    assert kicked["data"] == {"kicked": {"id": "local1", "local": True}, "kicker": {"id": "mod1"}}
    assert left == {"name": "videoConferenceLeft", "data": {"roomName": "r1"}}


# -- external_api.js in a wrapper page -----------------------------------------------------------------


def wrapper_html(server: JitsiServer, room: str = "room1", **config: object) -> str:
    """A local wrapper page like the adapter's: loads external_api.js and joins ``room``."""
    options = {
        "roomName": room,
        "jwt": "jwt-abc",
        "width": "100%",
        "height": "100%",
        "configOverwrite": {
            "prejoinConfig": {"enabled": False}, "disableDeepLinking": True, "toolbarButtons": [],
            "startWithAudioMuted": False, "startWithVideoMuted": True, **config,
        },
        "interfaceConfigOverwrite": {"SHOW_JITSI_WATERMARK": False},
        "userInfo": {"displayName": "Room H 0104"},
        "devices": {"audioInput": "Room mic", "audioOutput": "Room speakers", "videoInput": "Room camera"},
    }
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>wrapper</title></head>
<body style="margin:0"><div id="meet" style="width:100vw;height:100vh"></div>
<script src="{server.api_url}"></script>
<script>
window.heard = [];
const options = {json.dumps(options)};
options.parentNode = document.getElementById("meet");
window.api = new JitsiMeetExternalAPI({json.dumps(f"{server.host}:{server.port}")}, options);
for (const name of {json.dumps(EVENTS)}) {{
  window.api.addListener(name, (data) => window.heard.push([name, data]));
}}
</script></body></html>"""


def _js(qtbot: QtBot, session: BrowserSession, expression: str) -> Any:
    result: list = []
    session.run_json(expression, lambda value, error: result.append((value, error)))
    qtbot.waitUntil(lambda: bool(result), timeout=LOAD_TIMEOUT_MS)
    value, error = result[0]
    assert error is None, error
    return value


def _heard(qtbot: QtBot, session: BrowserSession, name: str, count: int = 1) -> list:
    """What the wrapper's listeners heard, once ``name`` arrived ``count`` times."""
    def arrived() -> bool:
        return sum(1 for n, _ in _js(qtbot, session, "window.heard || []") if n == name) >= count

    qtbot.waitUntil(arrived, timeout=LOAD_TIMEOUT_MS)
    return _js(qtbot, session, "window.heard")


def _open(
    qtbot: QtBot, make_session: MakeSession, server: JitsiServer, media: bool = False, **config: object
) -> BrowserSession:
    """A session showing the wrapper page on ``server``'s origin, once the conference was joined."""
    session = make_session([server.host], media=media)
    session.load_html(wrapper_html(server, **config), server.wrapper_base)
    _heard(qtbot, session, "videoConferenceJoined")
    return session


def test_constructor_records_options_and_joins_in_an_iframe(
    qtbot: QtBot, make_session: MakeSession, jitsi_server: JitsiServer
) -> None:
    session = _open(qtbot, make_session, jitsi_server)
    [init] = jitsi_server.log("init")
    assert init["room"] == "room1" and init["domain"] == f"{jitsi_server.host}:{jitsi_server.port}"
    assert "parentNode" not in init["options"]
    assert init["options"]["jwt"] == "jwt-abc"
    assert init["options"]["configOverwrite"]["prejoinConfig"] == {"enabled": False}
    assert init["options"]["userInfo"] == {"displayName": "Room H 0104"}
    [load] = jitsi_server.log("page_load")
    assert (load["room"], load["jwt"]) == ("room1", "jwt-abc")
    frame = _js(qtbot, session, "(f => [f.allow, f.src.split('#')[0], f.parentNode.id])(api.getIFrame())")
    assert frame[0].startswith("camera; microphone; display-capture; autoplay")
    assert frame[1:] == [f"{jitsi_server.url}/room1?jwt=jwt-abc", "meet"]
    [(_, joined)] = _js(qtbot, session, "window.heard")
    assert joined == {
        "roomName": "room1", "id": "local1", "displayName": "Room H 0104", "avatarURL": "", "breakoutRoom": False,
    }
    assert jitsi_server.log("event")[0]["name"] == "videoConferenceJoined"


def test_commands_change_state_and_emit_their_events(
    qtbot: QtBot, make_session: MakeSession, jitsi_server: JitsiServer
) -> None:
    session = _open(qtbot, make_session, jitsi_server)
    _js(qtbot, session, "window.api.isAudioMuted().then(m => window.before = m)")
    _js(qtbot, session, "window.api.executeCommand('toggleAudio')")
    _js(qtbot, session, "window.api.executeCommands({setTileView: [true], displayName: ['Room H 0104']})")
    _js(qtbot, session, "window.api.executeCommand('setTileView', true)")  # no change, no event
    heard = _heard(qtbot, session, "tileViewChanged")
    assert heard[1:] == [["audioMuteStatusChanged", {"muted": True}], ["tileViewChanged", {"enabled": True}]]
    states = "Promise.all([api.isAudioMuted(), api.isVideoMuted(), api.isTileView()])"
    _js(qtbot, session, f"{states}.then(v => window.after = v)")
    qtbot.waitUntil(lambda: _js(qtbot, session, "window.after") is not None, timeout=LOAD_TIMEOUT_MS)
    assert _js(qtbot, session, "[window.before, window.after]") == [False, [True, True, True]]
    # The page reports each command to the fake server on its own request: wait until all four arrived.
    qtbot.waitUntil(lambda: len(jitsi_server.log("command")) >= 4, timeout=LOAD_TIMEOUT_MS)
    commands = jitsi_server.log("command")
    assert [(c["name"], c["args"]) for c in commands] == [
        ("toggleAudio", []), ("setTileView", [True]), ("displayName", ["Room H 0104"]), ("setTileView", [True]),
    ]


def test_server_side_kick_mute_and_error_are_heard(
    qtbot: QtBot, make_session: MakeSession, jitsi_server: JitsiServer
) -> None:
    session = _open(qtbot, make_session, jitsi_server)
    jitsi_server.mute("room1")
    _heard(qtbot, session, "audioMuteStatusChanged")
    jitsi_server.error("room1")
    _heard(qtbot, session, "errorOccurred")
    jitsi_server.kick("room1")
    heard = _heard(qtbot, session, "videoConferenceLeft")
    assert [name for name, _ in heard] == [
        "videoConferenceJoined", "audioMuteStatusChanged", "errorOccurred",
        "participantKickedOut", "videoConferenceLeft",
    ]
    assert heard[2][1]["isFatal"] is True and heard[2][1]["name"] == "conference.connectionError.someError"
    assert heard[3][1]["kicked"] == {"id": "local1", "local": True}
    _js(qtbot, session, "window.api.isAudioMuted().then(m => window.muted = m)")
    qtbot.waitUntil(lambda: _js(qtbot, session, "window.muted") is True, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(jitsi_server.log("event")) >= 5, timeout=LOAD_TIMEOUT_MS)
    assert [r["name"] for r in jitsi_server.log("event")] == [name for name, _ in heard]


def test_hangup_then_dispose(qtbot: QtBot, make_session: MakeSession, jitsi_server: JitsiServer) -> None:
    session = _open(qtbot, make_session, jitsi_server)
    _js(qtbot, session, "window.api.executeCommand('hangup')")
    heard = _heard(qtbot, session, "readyToClose")
    assert [name for name, _ in heard[1:]] == ["videoConferenceLeft", "readyToClose"]
    assert heard[1][1] == {"roomName": "room1"}
    _js(qtbot, session, "window.api.dispose()")
    assert _js(qtbot, session, "document.querySelectorAll('iframe').length") == 0
    qtbot.waitUntil(lambda: bool(jitsi_server.log("dispose")), timeout=LOAD_TIMEOUT_MS)


def test_share_uses_the_configured_capture_device(
    qtbot: QtBot, make_session: MakeSession, jitsi_server: JitsiServer
) -> None:
    # Chromium's fake camera is called "fake_device_0"; the kiosk passes the HDMI grabber's label.
    session = _open(qtbot, make_session, jitsi_server, media=True, _desktopSharingSourceDevice="fake_device")
    _js(qtbot, session, "window.api.executeCommand('toggleShareScreen')")
    heard = _heard(qtbot, session, "screenSharingStatusChanged")
    assert heard[-1][1] == {"on": True, "details": {"sourceType": "device"}}
    qtbot.waitUntil(lambda: bool(jitsi_server.log("share_started")), timeout=LOAD_TIMEOUT_MS)
    assert "fake_device" in jitsi_server.log("share_started")[0]["label"]
    _js(qtbot, session, "window.api.executeCommand('toggleShareScreen')")
    heard = _heard(qtbot, session, "screenSharingStatusChanged", 2)
    assert heard[-1][1]["on"] is False
    qtbot.waitUntil(lambda: bool(jitsi_server.log("share_stopped")), timeout=LOAD_TIMEOUT_MS)


def test_share_without_a_device_fails(
    qtbot: QtBot, make_session: MakeSession, jitsi_server: JitsiServer
) -> None:
    session = _open(qtbot, make_session, jitsi_server)
    _js(qtbot, session, "window.api.executeCommand('toggleShareScreen')")
    qtbot.waitUntil(lambda: bool(jitsi_server.log("share_failed")), timeout=LOAD_TIMEOUT_MS)
    assert jitsi_server.log("share_failed")[0]["error"] == "NoSourceDevice"
    assert "screenSharingStatusChanged" not in [n for n, _ in _js(qtbot, session, "window.heard")]
