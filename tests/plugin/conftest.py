"""Fixtures for the BBB plugin's browser tests: the built plugin, Debian's Chromium, the fake BBB.

The plugin must be built first (``make plugin``; ``make test`` does it): the tests load
``bbb-plugin/dist/`` as the fake BBB serves it, exactly as a BBB 3 server would serve the bundle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette

from roomagent.demo.bbb_generations import GENERATIONS, BbbGeneration
from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.invite.checksum import signed_query
from roomagent.serving import RunningServer, run_in_thread

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "bbb-plugin"
CHROMIUM = "/usr/bin/chromium"
BBB_SECRET = "plugin-test-secret"
HTTP_TIMEOUT_S = 5.0  # failure guard: loopback answers in milliseconds
#: Failure guard for waiting on the page: the plugin polls GET /room every 2 s.
UI_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def plugin_dir() -> Path:
    """``bbb-plugin/`` with its build output; fails (not skips) when the plugin was not built."""
    if not (PLUGIN_DIR / "dist" / "manifest.json").is_file():
        pytest.fail("bbb-plugin/dist/ is missing: build the plugin with `make plugin` (make test does it)")
    return PLUGIN_DIR


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (nothing is downloaded)."""
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield chromium
        chromium.close()


class FakeBbb:
    """The fake BBB with plugins enabled, signing its API calls with :data:`BBB_SECRET`."""

    def __init__(self, running: RunningServer, app: Starlette) -> None:
        self.running = running
        self.app = app
        self.url = running.url
        self.generation: BbbGeneration = app.state.fake.generation

    @property
    def manifest_url(self) -> str:
        return f"{self.url}/plugins/roomagent/manifest.json"

    def api(self, call: str, **params: str) -> str:
        """Call ``call`` signed with the secret; the response body (XML)."""
        query = signed_query(call, params, BBB_SECRET)
        response = httpx.get(f"{self.url}/bigbluebutton/api/{call}?{query}", timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        assert "<returncode>SUCCESS</returncode>" in response.text, response.text
        return response.text

    def create(self, meeting: str, name: str = "Physics 101", manifest_url: str | None = None) -> None:
        """Create ``meeting`` with the roomagent plugin (or the manifest at ``manifest_url``)."""
        self.api("create", meetingID=meeting, name=name,
                 pluginManifests=json.dumps([{"url": manifest_url or self.manifest_url}]))

    def join_url(self, meeting: str, full_name: str, role: str, **extra: str) -> str:
        """A signed join URL for a person in ``meeting`` (the teacher joins with a microphone)."""
        params = {"meetingID": meeting, "fullName": full_name, "role": role,
                  "userdata-bbb_auto_join_audio": "true", **extra}
        return f"{self.url}/bigbluebutton/api/join?{signed_query('join', params, BBB_SECRET)}"

    def records(self, kind: str) -> list[dict]:
        return self.app.state.fake.records(kind)


@pytest.fixture(scope="module", params=list(GENERATIONS))
def fake_bbb(plugin_dir: Path, request: pytest.FixtureRequest) -> Iterator[FakeBbb]:
    """The fake BBB serving the built plugin and the host shim, once per upstream generation (each test
    of a module runs against every generation, one server each); ``app.state.invite_base`` is set by tests."""
    app = create_bbb_app(secret=BBB_SECRET, plugin_dir=plugin_dir, generation=request.param)
    running = run_in_thread(app, host="127.0.0.1")
    yield FakeBbb(running, app)
    running.stop()


def open_client(browser: Browser, url: str, locale: str = "en-US", plugins: int = 1) -> Page:
    """A fresh browser context (own cookies) on ``url``, the client page up and ``plugins`` plugins loaded."""
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("html[data-plugins-loaded]", state="attached")
    assert page.get_attribute("html", "data-plugins-loaded") == str(plugins)
    page.wait_for_selector("main#layout")
    return page


def menu_item(page: Page, label: str):
    """A plugin's "+" menu option, found as a user finds it: by its text. Neither its id (the client
    overwrites it) nor its ``dataTest`` (the oldest 3.0 client drops it) survives every generation."""
    return page.get_by_role("menuitem", name=label, exact=True)

