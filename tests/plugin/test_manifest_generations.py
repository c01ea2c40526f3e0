"""How each BBB 3.0.x generation judges a plugin manifest (``roomagent/demo/bbb_manifest.py``).

No browser: the same judgement the fake BBB applies server-side before its client page loads anything
(akka-apps ``Plugins.scala``: Jackson mapping, ``requiredSdkVersion`` with jsemver, ``makeAbsoluteUrl``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from roomagent.demo.bbb_generations import EARLY, GENERATIONS, MIDDLE
from roomagent.demo.bbb_manifest import make_absolute_url, parse_manifest, sdk_satisfies
from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.invite.checksum import signed_query
from roomagent.serving import run_in_thread
from tests.plugin.conftest import BBB_SECRET

SHIPPED = Path(__file__).resolve().parents[2] / "bbb-plugin" / "manifest.json"
URL = "https://bbb.example.org/plugins/roomagent/manifest.json"
#: The manifest as shipped before issue 20: a settingsSchema the first 3.0 parser does not know.
WITH_SCHEMA = {
    "requiredSdkVersion": "~0.0.90", "name": "roomagent", "javascriptEntrypointUrl": "roomagent-plugin.js",
    "localesBaseUrl": "locales",
    "settingsSchema": [{"name": "inviteServiceUrl", "label": "Invite service", "required": False,
                        "defaultValue": "/roomagent-invite", "type": "string"}],
}


@pytest.mark.parametrize("name", list(GENERATIONS))
def test_the_shipped_manifest_loads_on_every_generation(name: str) -> None:
    load = parse_manifest(URL, json.loads(SHIPPED.read_text()), GENERATIONS[name])
    assert load.ok, load.load_failure_reason
    assert load.client_row() == {
        "name": "roomagent",
        "javascriptEntrypointUrl": "https://bbb.example.org/plugins/roomagent/roomagent-plugin.js",
        "javascriptEntrypointIntegrity": "",
        "localesBaseUrl": "https://bbb.example.org/plugins/roomagent/locales",
        "loadFailureReason": None,
    }


@pytest.mark.parametrize(("name", "loads"), [("early", False), ("middle", True), ("current", True)])
def test_settings_schema_drops_the_plugin_only_on_the_first_parser(name: str, loads: bool) -> None:
    load = parse_manifest(URL, WITH_SCHEMA, GENERATIONS[name])
    assert load.ok is loads
    if not loads:
        assert "settingsSchema" in load.load_failure_reason
        assert load.load_failure_reason.startswith("Error while processing plugin [roomagent]")


@pytest.mark.parametrize(("name", "loads"), [("early", False), ("middle", False), ("current", True)])
def test_an_unknown_field_is_fatal_until_the_lenient_parser(name: str, loads: bool) -> None:
    manifest = {**json.loads(SHIPPED.read_text()), "description": "an extra field"}
    assert parse_manifest(URL, manifest, GENERATIONS[name]).ok is loads


def test_required_sdk_version_is_a_tilde_range_checked_where_the_server_checks() -> None:
    manifest = json.loads(SHIPPED.read_text())
    assert manifest["requiredSdkVersion"] == "~0.0.90"
    old_client = replace(MIDDLE, client_sdk_version="0.0.72")
    refused = parse_manifest(URL, manifest, old_client)
    assert not refused.ok
    assert "system SDK version [0.0.72] does not satisfy plugin requirement [~0.0.90]" in refused.load_failure_reason
    # The first parser does not look at requiredSdkVersion at all.
    assert parse_manifest(URL, manifest, EARLY).ok and EARLY.client_sdk_version == "0.0.59"
    assert [sdk_satisfies(v, "~0.0.90") for v in ("0.0.89", "0.0.90", "0.0.94", "0.1.0")] == [
        False, True, True, False]


def test_urls_are_resolved_by_concatenation_like_make_absolute_url() -> None:
    assert make_absolute_url(URL, "x.js") == "https://bbb.example.org/plugins/roomagent/x.js"
    assert make_absolute_url(URL, "https://cdn.example.org/x.js") == "https://cdn.example.org/x.js"
    # Plain concatenation, as upstream: no URL normalisation of "/" or "../".
    assert make_absolute_url(URL, "/x.js") == "https://bbb.example.org/plugins/roomagent//x.js"


@pytest.mark.parametrize("content", [
    [], "manifest", None, {"name": "roomagent"}, {"name": 3, "javascriptEntrypointUrl": "x.js"},
    {"name": "roomagent", "javascriptEntrypointUrl": "x.js", "requiredSdkVersion": "not a range"},
    {"name": "roomagent", "javascriptEntrypointUrl": "x.js", "settingsSchema": "nope"},
])
@pytest.mark.parametrize("name", list(GENERATIONS))
def test_a_malformed_manifest_is_a_reason_never_an_exception(content: object, name: str) -> None:
    load = parse_manifest(URL, content, GENERATIONS[name])
    if not load.ok:
        assert load.load_failure_reason and load.javascript_entrypoint_url == ""


def test_a_required_setting_with_a_default_of_the_wrong_type_drops_the_plugin() -> None:
    manifest = {**WITH_SCHEMA, "settingsSchema": [
        {"name": "inviteServiceUrl", "type": "string", "required": True, "defaultValue": 7}]}
    load = parse_manifest(URL, manifest, MIDDLE)
    assert not load.ok and "invalid setting [inviteServiceUrl]" in load.load_failure_reason
    # A configured value of the right type makes it load.
    assert parse_manifest(URL, manifest, MIDDLE, {"inviteServiceUrl": "/roomagent-invite"}).ok


def test_the_fake_loads_a_meetings_manifests_once_and_logs_every_outcome(plugin_dir: Path) -> None:
    app = create_bbb_app(secret=BBB_SECRET, plugin_dir=plugin_dir)
    running = run_in_thread(app, host="127.0.0.1")
    try:
        good, missing = f"{running.url}/plugins/roomagent/manifest.json", f"{running.url}/plugins/nothing.json"
        query = signed_query("create", {"meetingID": "m-load", "name": "Load",
                                        "pluginManifests": json.dumps([{"url": good}, {"url": missing}])}, BBB_SECRET)
        httpx.get(f"{running.url}/bigbluebutton/api/create?{query}", timeout=5).raise_for_status()
        join = signed_query("join", {"meetingID": "m-load", "fullName": "Ada", "role": "MODERATOR"}, BBB_SECRET)
        with httpx.Client(base_url=running.url, timeout=5) as browser:
            answer = browser.get(f"/bigbluebutton/api/join?{join}")
            token = answer.headers["location"].split("sessionToken=")[1]
            plugins = f"/_plugin_host/plugins?sessionToken={token}"
            # Like GraphQL, only for the session's own browser (its JSESSIONID).
            assert httpx.get(f"{running.url}{plugins}", timeout=5).status_code == 401
            rows = [browser.get(plugins).json()["data"]["plugin"] for _ in range(2)]
        assert rows[0] == rows[1] and [r["name"] for r in rows[0]] == ["roomagent"]
        loads = app.state.fake.records("plugin_load")  # once per meeting, however often the page asks
        assert [(r["manifest"], r["ok"]) for r in loads] == [(good, True), (missing, False)]
        assert loads[1]["loadFailureReason"] == f"Error while fetching manifest {missing}: HTTP 404"
    finally:
        running.stop()
