"""The HTML of the fake BigBlueButton client page and of its "logged out" page.

The markup lives here, the behaviour in ``fake_bbb_client.js`` (inlined, so the page is one request).
The client markup sits in a ``<template>`` that the script stamps out only once ``enter`` succeeded,
so ``main#layout`` appearing means what it means in the real client: the session was accepted.
"""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """
html, body { margin: 0; height: 100%; background: #06172a; color: #f3f6f9;
             font-family: "DejaVu Sans", sans-serif; overflow: hidden; }
#layout { display: grid; height: 100vh; grid-template-columns: 3fr 1fr;
          grid-template-rows: auto 1fr 22vh auto; grid-template-areas:
          "head head" "pres side" "cams side" "acts acts"; }
header { grid-area: head; display: flex; gap: 2vw; align-items: baseline; padding: 1.5vh 2vw;
         background: #0f70d7; }
header h1 { margin: 0; font-size: 3.5vh; }
.presentation { grid-area: pres; margin: 2vh 2vw; border-radius: 1vh; background: #f3f6f9;
                color: #06172a; display: flex; align-items: center; justify-content: center;
                font-size: 5vh; }
.cameras { grid-area: cams; display: flex; gap: 1vw; padding: 0 2vw 2vh; }
.cameras div { flex: 1; border-radius: 1vh; display: flex; align-items: center;
               justify-content: center; font-size: 4vh; font-weight: bold; }
.side { grid-area: side; background: #0b2740; padding: 1vh 1vw; overflow: hidden; font-size: 2vh; }
.actions { grid-area: acts; display: flex; gap: 1vw; justify-content: center; padding: 1.2vh;
           background: #0b2740; }
button { font-size: 2.2vh; padding: .8vh 1.2vw; border-radius: 1vh; border: 0; }
[data-test="muteMicButton"] { background: #0f70d7; color: white; }
[data-test="unmuteMicButton"] { background: #df2721; color: white; }
[data-enforced-layout="CAMERAS_ONLY"] .presentation,
[data-enforced-layout="CAMERAS_ONLY"] .side,
[data-enforced-layout="VIDEO_FOCUS"] .side { display: none; }
[data-enforced-layout="CAMERAS_ONLY"] .cameras { grid-row: 2 / 4; grid-column: 1 / 3; }
[data-enforced-layout="PRESENTATION_ONLY"] .cameras,
[data-enforced-layout="PRESENTATION_ONLY"] .side { display: none; }
[data-enforced-layout="PRESENTATION_ONLY"] .presentation { grid-row: 2 / 4; grid-column: 1 / 3; }
[data-enforced-layout="PARTICIPANTS_AND_CHAT_ONLY"] .presentation,
[data-enforced-layout="PARTICIPANTS_AND_CHAT_ONLY"] .cameras { display: none; }
[data-enforced-layout="PARTICIPANTS_AND_CHAT_ONLY"] .side { grid-row: 2 / 4; grid-column: 1 / 3; }
[data-test="meetingEndedModal"] { position: fixed; inset: 0; background: rgba(0,0,0,.8);
                                  display: flex; align-items: center; justify-content: center; }
"""

_TILES = (("#d1495b", "AL"), ("#0f8b8d", "AT"), ("#b7791f", "GH"), ("#7d3c98", "ED"))

_TEMPLATE = """
<main id="layout" data-enforced-layout="" data-session="">
  <header><h1 class="meeting"></h1><span class="user"></span><span class="session"></span></header>
  <section class="presentation" data-test="presentationContainer">Lecture slides</section>
  <section class="cameras" data-test="webcamsList">{tiles}</section>
  <aside class="side">
    <section data-test="chatMessages"><p>Welcome to the meeting.</p></section>
    <input data-test="chatMessageInput" placeholder="Send message to Public Chat">
    <section data-test="sharedNotes"><h2>Shared notes</h2><p>Nothing yet.</p></section>
    <div data-test="pollingContainer"><p>Was this clear?</p>
      <button data-test="pollAnswerOption">Yes</button>
      <button data-test="pollAnswerOption">No</button></div>
  </aside>
  <nav class="actions"><span id="audio"></span><span id="share"></span></nav>
</main>
"""


def _script_json(value: Any) -> str:
    # No raw "<" inside a script element: a hostile value can neither close it nor confuse the parser.
    return json.dumps(value).replace("<", "\\u003c")


def client_page(config: dict[str, Any], client_js: str, plugin_head: str = "") -> str:
    """The client page for one ``sessionToken``; ``config`` goes to the script as JSON.

    ``plugin_head`` is the plugin host's markup (``fake_bbb_plugins.plugin_head``), placed after the
    client's own script so that the plugins find the client there.
    """
    tiles = "".join(f'<div style="background:{colour}">{initials}</div>' for colour, initials in _TILES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BigBlueButton</title>
<style>{_STYLE}</style></head>
<body>
<p id="loading">Joining…</p>
<template id="client-template">{_TEMPLATE.format(tiles=tiles)}</template>
<script type="application/json" id="fake-bbb-config">{_script_json(config)}</script>
<script>{client_js}</script>
{plugin_head}</body></html>
"""


def logged_out_page(reason: str = "") -> str:
    """Where the client goes after the meeting ended (``reason=''``) or the user was removed."""
    why = "You have been removed from the meeting." if reason == "removed" else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logged out</title>
<style>body {{ background: #06172a; color: #f3f6f9; font-family: "DejaVu Sans", sans-serif;
              display: flex; flex-direction: column; align-items: center; justify-content: center;
              height: 100vh; margin: 0; }}</style></head>
<body><h1 data-test="loggedOut">You have left the meeting</h1>
<p data-test="logoutReason" data-reason="{html.escape(reason)}">{why}</p></body></html>
"""
