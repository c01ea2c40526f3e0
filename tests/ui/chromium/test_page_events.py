"""The Chromium session's PageEvents on its own: DevTools events in, commands and signals out (no browser)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from roomagent.ui.chromium.events import PageEvents
from roomagent.ui.chromium.process import FIRST_PAGE
from roomagent.ui.page_policy import HostPolicy


class Recorder:
    """The session's side: records the commands sent and the signals emitted."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []
        self.signals: list[tuple] = []

    def listen(self, events: PageEvents) -> None:
        events.loaded.connect(lambda ok, url: self.signals.append(("loaded", ok, url)))
        events.refused.connect(lambda kind, detail, note: self.signals.append(("refused", kind, detail)))
        events.navigation_refused.connect(lambda url: self.signals.append(("navigation_refused", url)))
        events.crashed.connect(lambda status, code: self.signals.append(("crashed", status, code)))
        events.first_page_loaded.connect(lambda: self.signals.append(("first_page_loaded",)))
        events.message.connect(lambda value: self.signals.append(("message", value)))

    def send(self, method: str, params: dict[str, Any], callback=None, *, session: str | None = None) -> None:
        self.sent.append((method, params, session))


@pytest.fixture
def page(qapp) -> tuple[PageEvents, Recorder]:
    rec = Recorder()
    events = PageEvents("s-1", True, HostPolicy(["meet.example.org"]), rec.send)
    rec.listen(events)
    events.attach("T1", "P1")
    return events, rec


def _paused(url: str, frame: str = "T1") -> dict[str, Any]:
    return {"requestId": "r1", "request": {"url": url}, "frameId": frame, "resourceType": "Document"}


def test_a_document_off_the_allow_list_is_aborted_and_reported(page):
    events, rec = page
    events.handle("Fetch.requestPaused", _paused("https://evil.test/x"), "P1")
    assert rec.sent == [("Fetch.failRequest", {"requestId": "r1", "errorReason": "Aborted"}, None)]
    assert rec.signals == [("refused", "navigation", "https://evil.test/x"),
                           ("navigation_refused", "https://evil.test/x")]


def test_an_allowed_document_is_granted_media_once_then_continued(page):
    events, rec = page
    events.handle("Fetch.requestPaused", _paused("https://meet.example.org/room"), "P1")
    assert [(m, s) for m, _, s in rec.sent] == [("Browser.grantPermissions", "")]
    events.handle("Fetch.requestPaused", _paused("https://meet.example.org/other"), "P1")
    assert rec.sent[-1] == ("Fetch.continueRequest", {"requestId": "r1"}, None)
    assert rec.signals == []


def test_the_wrapper_page_is_served_from_memory(page):
    events, rec = page
    events.wrapper = ("<p>room</p>", "https://meet.example.org/wrap")
    events.handle("Fetch.requestPaused", _paused("https://meet.example.org/wrap#x"), "P1")
    method, params, _ = rec.sent[0]
    assert method == "Fetch.fulfillRequest"
    assert base64.b64decode(params["body"]) == b"<p>room</p>"


def test_page_events_of_another_session_are_ignored_and_stop_ends_handling(page):
    events, rec = page
    events.handle("Page.frameNavigated", {"frame": {"url": "https://meet.example.org/a"}}, "OTHER")
    assert events.url == ""
    events.handle("Page.frameNavigated", {"frame": {"url": "https://meet.example.org/a"}}, "P1")
    events.handle("Page.loadEventFired", {}, "P1")
    assert events.url == "https://meet.example.org/a"
    assert rec.signals == [("loaded", True, "https://meet.example.org/a")]
    events.stop()
    events.handle("Target.targetCrashed", {"targetId": "T1", "status": "crashed", "errorCode": 9}, "")
    assert rec.signals == [("loaded", True, "https://meet.example.org/a")]


def test_the_start_page_load_only_says_the_browser_is_ready(page):
    events, rec = page
    events.awaiting_first_page = True
    events.handle("Page.frameNavigated", {"frame": {"url": FIRST_PAGE}}, "P1")
    events.handle("Page.loadEventFired", {}, "P1")
    assert rec.signals == [("first_page_loaded",)]


def test_forget_returns_the_last_url_and_drops_the_old_browser(page):
    events, rec = page
    events.handle("Page.frameNavigated", {"frame": {"url": "https://meet.example.org/a"}}, "P1")
    assert events.forget() == "https://meet.example.org/a"
    assert (events.url, events.target, events.page) == ("", "", "")
    events.handle("Target.targetCrashed", {"targetId": "T1"}, "")
    assert rec.signals == []
