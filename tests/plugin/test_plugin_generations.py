"""What differs between the BBB 3.0.x generations, seen from the plugin's side, in Debian's Chromium.

Each test runs once per generation (``fake_bbb`` is parametrized): the server judges the manifest
before the page loads anything (an early 3.0 server drops a manifest carrying ``settingsSchema``), and
the client renders the plugin's items its own way (ids overwritten with indexes, ``dataTest`` dropped by
the oldest client, ``localesBaseUrl`` not passed by it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from roomagent.serving import RunningServer, run_in_thread
from tests.plugin.conftest import FakeBbb, menu_item, open_client
from tests.plugin.test_manifest_generations import WITH_SCHEMA


@pytest.fixture(scope="module")
def old_manifest(plugin_dir) -> Iterator[RunningServer]:
    """Another host serving the plugin as shipped before issue 20 (manifest with ``settingsSchema``)."""
    app = Starlette(routes=[
        Route("/old/manifest.json", lambda _request: JSONResponse(WITH_SCHEMA)),
        Mount("/old", StaticFiles(directory=plugin_dir / "dist")),
    ])
    running = run_in_thread(app, host="127.0.0.1")
    yield running
    running.stop()


def test_the_server_drops_a_manifest_its_parser_refuses(browser: Browser, fake_bbb: FakeBbb,
                                                        old_manifest: RunningServer) -> None:
    early = fake_bbb.generation.manifest_parser == "strict-no-schema"
    fake_bbb.create("gen-old", manifest_url=f"{old_manifest.url}/old/manifest.json")
    page = open_client(browser, fake_bbb.join_url("gen-old", "Prof. Ada", "MODERATOR"), plugins=0 if early else 1)
    [load] = [r for r in fake_bbb.records("plugin_load") if r["meeting"] == "gen-old"]
    assert load["ok"] is not early
    if early:
        assert "settingsSchema" in load["loadFailureReason"]
        # Nothing was loaded: no plugin code ran in the page, and the "+" holds only BBB's own entries.
        assert page.evaluate("Object.keys(window.bbb_plugins || {}).length") == 0
        page.click('[data-test="actionsButton"]')
        expect(page.get_by_role("menuitem", name="Take presenter")).to_be_visible()
        expect(menu_item(page, "Invite room")).to_have_count(0)
    else:
        page.click('[data-test="actionsButton"]')
        expect(menu_item(page, "Invite room")).to_be_visible()
    page.context.close()


def test_items_as_the_client_generation_renders_them(browser: Browser, fake_bbb: FakeBbb) -> None:
    gen = fake_bbb.generation
    fake_bbb.create("gen-items")
    page = open_client(browser, fake_bbb.join_url("gen-items", "Prof. Bea", "MODERATOR"))
    [load] = [r for r in fake_bbb.records("plugin_load") if r["meeting"] == "gen-items"]
    assert load["ok"] and load["name"] == "roomagent"
    api = page.evaluate("Object.values(window.bbb_plugins).map(a => [a.pluginName, a.localesBaseUrl ?? null])")
    locales = f"{fake_bbb.url}/plugins/roomagent/locales" if gen.passes_locales_base_url else None
    assert api == [["roomagent", locales]]

    page.click('[data-test="actionsButton"]')
    item = menu_item(page, "Invite room")
    # dataTest reaches the DOM only where the client passes it; the tooltip never does.
    expect(item).to_have_count(1)
    assert item.get_attribute("data-test") == ("roomagentInviteItem" if gen.renders_data_test else None)
    assert item.get_attribute("title") is None
    item.click()
    # The plugin's floating window: the id the plugin chose is overwritten with the item's index.
    expect(page.locator('[data-test="roomagentInviteDialog"]')).to_be_visible()
    window_id = page.locator(".floating-window-content").get_attribute("id")
    assert window_id == ("FloatingWindow_0" if gen.overwrites_item_ids else "roomagent-window")
    page.context.close()
