"""``roomagent invite check`` against the fake BigBlueButton in each generation, the reference directory
and the invite service (tests/invite/world.py), including the honest failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from roomagent.demo.bbb_generations import GENERATIONS
from roomagent.invite.check import Probe, Verdict, render, run_steps
from roomagent.invite.check_site import site_steps
from roomagent.serving import run_in_thread
from tests.invite.front import create_front
from tests.invite.world import SECRET, TOKEN_A, World, invite_settings

REPO = Path(__file__).resolve().parents[2]
MANIFEST = {"requiredSdkVersion": "~0.0.90", "name": "roomagent", "javascriptEntrypointUrl": "roomagent-plugin.js",
            "localesBaseUrl": "locales"}
SCHEMA = [{"name": "inviteServiceUrl", "label": "Base URL", "required": False, "defaultValue": "/roomagent-invite",
           "type": "string"}]


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    """A plugin folder the test controls: dist/ with manifest variants, a script and the locales index."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "host").mkdir()
    dist = root / "dist"
    (dist / "locales").mkdir(parents=True)
    (dist / "roomagent-plugin.js").write_text("/* plugin */\n")
    (dist / "locales" / "index.json").write_text('["en"]')
    (dist / "manifest.json").write_text(json.dumps(MANIFEST))
    (dist / "schema.json").write_text(json.dumps({**MANIFEST, "settingsSchema": SCHEMA}))
    return root


@pytest.fixture(scope="module", params=list(GENERATIONS))
def gen_world(request, plugin_dir) -> Iterator[World]:
    w = World(generation=request.param, plugin_dir=plugin_dir)
    w.generation = GENERATIONS[request.param]
    yield w
    w.stop()


def _check(world: World, *, settings=None, public: str | None = None, manifest: str = "manifest.json",
           client_sdk: str | None = None) -> dict[str, Verdict]:
    public = public or world.bbb.url
    probe = Probe(settings or world.invite_settings, public_url=public,
                  manifest_url=f"{public}/plugins/roomagent/{manifest}", service_url=world.invite.url,
                  client_sdk=client_sdk)
    try:
        verdicts = run_steps(probe, site_steps(probe))
    finally:
        probe.close()
    print(render(verdicts, as_json=False))
    return {v.step: v for v in verdicts}


def _failed(verdicts: dict[str, Verdict]) -> list[str]:
    return [name for name, v in verdicts.items() if v.status in ("fail", "skip")]


def test_every_step_passes_on_a_well_installed_server_of_each_generation(gen_world: World) -> None:
    verdicts = _check(gen_world)
    assert _failed(verdicts) == []
    shape = gen_world.generation.session_check
    assert verdicts["session_check"].seen["shape"] == shape
    assert f"shape {shape}" in verdicts["session_check"].summary
    if shape == "A":
        assert verdicts["session_check"].seen["identity_headers"] == []
        assert "getMeetings" in verdicts["session_check"].summary
    else:
        assert "User-Id" in verdicts["session_check"].seen["identity_headers"]
    assert verdicts["nginx"].seen["identified"] and verdicts["cookie"].seen["jsessionid_cookie"]
    assert gen_world.bbb.app.state.fake.ended(verdicts["meeting"].seen["meeting"])  # cleaned up


def test_a_manifest_with_settings_schema_is_refused_only_on_the_early_parser(gen_world: World) -> None:
    verdict = _check(gen_world, manifest="schema.json")["manifest"]
    if gen_world.generation.manifest_parser == "strict-no-schema":
        assert verdict.status == "fail" and "settingsSchema" in verdict.summary
        assert "without settingsSchema" in verdict.fix
    else:
        assert verdict.status == "ok", verdict.summary


def test_the_client_sdk_must_satisfy_required_sdk_version_where_it_is_checked(gen_world: World) -> None:
    verdict = _check(gen_world, client_sdk="0.0.59")["manifest"]
    if gen_world.generation.checks_sdk_version:
        assert verdict.status == "fail" and "0.0.59" in verdict.summary
    else:
        assert verdict.status == "ok" and "not checked" in verdict.summary


@pytest.mark.parametrize("dropped", ["cookie", "x-session-token"])
def test_nginx_dropping_a_header_is_named(gen_world: World, dropped: str) -> None:
    front = run_in_thread(create_front(gen_world.bbb.url, drop=frozenset({dropped})))
    try:
        verdicts = _check(gen_world, public=front.url)
    finally:
        front.stop()
    nginx = verdicts["nginx"]
    assert nginx.status == "fail" and ("Cookie" if dropped == "cookie" else "X-Session-Token") in nginx.summary
    assert verdicts["cookie"].status == "skip" and verdicts["manifest"].status == "ok"


def test_a_session_cookie_outside_the_service_path_is_named(gen_world: World) -> None:
    front = run_in_thread(create_front(gen_world.bbb.url, cookie_path="/bigbluebutton"))
    try:
        settings = invite_settings(front.url, gen_world.invite_settings.directory.url)
        verdicts = _check(gen_world, settings=settings, public=front.url)
    finally:
        front.stop()
    assert verdicts["moderator"].seen["cookie_path"] == "/bigbluebutton"
    assert verdicts["nginx"].status == "ok"  # with the cookie set by hand, everything works ...
    cookie = verdicts["cookie"]  # ... but a browser would not send it
    assert cookie.status == "fail" and "Path is /bigbluebutton" in cookie.summary


def test_a_wrong_secret_and_a_refused_token_are_said_with_their_fix(gen_world: World) -> None:
    settings = invite_settings(gen_world.bbb.url, gen_world.invite_settings.directory.url,
                               bbb={"url": f"{gen_world.bbb.url}/bigbluebutton/", "secret": "wrong-" + SECRET},
                               tokens={"uni-a": "x" * len(TOKEN_A)})
    verdicts = _check(gen_world, settings=settings)
    assert verdicts["api"].status == "ok" and verdicts["checksum"].status == "fail"
    assert "secret" in verdicts["checksum"].fix and verdicts["meeting"].status == "skip"
    assert verdicts["directory"].status == "fail" and "refuses our token" in verdicts["directory"].summary


def _garbage_app() -> Starlette:
    async def html(_request):
        return HTMLResponse("<html><body>Welcome to nginx!</body></html>")

    async def nobody(_request):
        return JSONResponse({"response": "authorized"})

    return Starlette(routes=[Route("/bigbluebutton/connection/checkGraphqlAuthorization", nobody),
                             Route("/{path:path}", html)])


def test_a_server_of_unknown_generation_fails_a_named_step_never_a_traceback(gen_world: World) -> None:
    garbage = run_in_thread(_garbage_app())
    try:
        everything = invite_settings(garbage.url, gen_world.invite_settings.directory.url)
        verdicts = _check(gen_world, settings=everything, public=garbage.url)
        assert verdicts["api"].status == "fail" and "not bbb-web's XML" in verdicts["api"].summary
        assert "Welcome to nginx" in verdicts["api"].summary
        assert verdicts["manifest"].status == "fail" and verdicts["cleanup"].status == "skip"
        only_web = invite_settings(gen_world.bbb.url, gen_world.invite_settings.directory.url,
                                   web_url=f"{garbage.url}/bigbluebutton/")
        session = _check(gen_world, settings=only_web)["session_check"]
        assert session.status == "fail" and "no known shape" in session.summary
        assert session.seen["identity_headers"] == []
    finally:
        garbage.stop()


def test_the_command_line_prints_one_line_per_step_and_json_for_scripts(gen_world: World, tmp_path) -> None:
    config = tmp_path / "invite.toml"
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    config.write_text(
        f'[bbb]\nurl = "{gen_world.bbb.url}/bigbluebutton/"\nsecret_file = "{secret}"\n'
        f'[directory]\nurl = "{gen_world.invite_settings.directory.url}"\n[tokens]\nuni-a = "{TOKEN_A}"\n')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "roomagent", "invite", "check", "--config", str(config),
            "--service-url", gen_world.invite.url]
    text = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout.count("[  OK]") == 13 and "can work on this server" in text.stdout
    data = subprocess.run([*base, "--json", "--manifest-url", f"{gen_world.bbb.url}/plugins/roomagent/schema.json"],
                          env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(data.stdout)
    assert data.returncode == (1 if gen_world.generation.session_check == "A" else 0)
    assert report["ok"] is (data.returncode == 0) and len(report["steps"]) == 13
    bad = subprocess.run([*base[:6], str(tmp_path / "missing.toml")], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 78 and "Traceback" not in bad.stderr and "missing.toml" in bad.stderr


def test_the_echo_says_what_arrived_never_the_values_and_names_only_a_verified_moderator(gen_world: World) -> None:
    meeting = "echo-" + gen_world.generation.name
    gen_world.bbb.create(meeting)
    teacher = gen_world.bbb.join(meeting, "Prof. Ada", "MODERATOR")
    student = gen_world.bbb.join(meeting, "Student Bob", "VIEWER")
    ok = gen_world.call("GET", "/diagnostics/echo", teacher).json()
    assert ok["seen"] == {"x_session_token": True, "jsessionid_cookie": True} and ok["identified"] is True
    assert ok["meeting_id"] == meeting and ok["user_id"]
    viewer = gen_world.call("GET", "/diagnostics/echo", student)
    assert viewer.json()["identified"] is False and viewer.json()["error"]["code"] == "not_moderator"
    assert student.token not in viewer.text and student.jsessionid not in viewer.text
    bare = gen_world.call("GET", "/diagnostics/echo", teacher, cookie=False).json()
    assert bare["seen"] == {"x_session_token": True, "jsessionid_cookie": False} and bare["identified"] is False


def test_a_step_that_breaks_unexpectedly_is_a_failed_line_not_a_traceback(gen_world: World) -> None:
    probe = Probe(gen_world.invite_settings, public_url=gen_world.bbb.url, manifest_url="", service_url="")
    steps = site_steps(probe)

    def broken() -> Verdict:
        raise KeyError("attendees")

    steps["api"] = broken
    verdicts = run_steps(probe, steps)
    probe.close()
    assert verdicts[0].status == "fail" and "unexpected KeyError" in verdicts[0].summary
    assert "Traceback" not in render(verdicts, as_json=False)
    assert json.loads(render(verdicts, as_json=True))["ok"] is False


def test_a_server_that_is_down_is_named_with_its_fix(gen_world: World) -> None:
    import socket

    with socket.socket() as dead:  # bound, never listening: connections are refused
        dead.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{dead.getsockname()[1]}"
        settings = invite_settings(url, gen_world.invite_settings.directory.url)
        verdicts = _check(gen_world, settings=settings, public=url)
    assert verdicts["api"].status == "fail" and "cannot reach" in verdicts["api"].summary
    assert "bbb-conf --status" in verdicts["api"].fix and verdicts["directory"].status == "ok"
