"""The demo meeting server and the threaded ASGI runner, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from roomagent.demo.meeting_server import SESSION_COOKIE, create_app, meeting_page
from roomagent.serving import run_in_thread


def test_meeting_page_sets_a_cookie_once_and_records_every_load() -> None:
    app = create_app()
    with run_in_thread(app) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=server.url, timeout=5) as client:
            first = client.get(
                "/meeting/Maths 101", params={"screen": "left"}, headers={"User-Agent": "ua-1"}
            )
            assert first.status_code == 200
            assert "Maths 101" in first.text and "left" in first.text
            cookie = first.cookies[SESSION_COOKIE]
            second = client.get("/meeting/Maths 101", params={"screen": "left"})
            assert SESSION_COOKIE not in second.cookies  # already had one: no new cookie
            loads = client.get("/_loads").json()
            assert [entry["new_session"] for entry in loads] == [True, False]
            assert loads[0]["path"] == "/meeting/Maths 101" and loads[0]["query"] == {"screen": "left"}
            assert loads[0]["user_agent"] == "ua-1" and loads[0]["cookies"] == {}
            assert loads[1]["cookies"] == {SESSION_COOKIE: cookie} and loads[1]["session"] == cookie
            assert client.post("/_reset").status_code == 204
            assert client.get("/_loads").json() == []
        assert app.state.loads.snapshot() == []
    assert not server.running


def test_each_app_has_its_own_log() -> None:
    a, b = create_app(), create_app()
    with run_in_thread(a) as server:
        httpx.get(f"{server.url}/meeting/x", timeout=5)
    assert len(a.state.loads.snapshot()) == 1 and b.state.loads.snapshot() == []


def test_meeting_page_escapes_hostile_names() -> None:
    page = meeting_page("</script><script>alert(1)</script>", "<b>", "s")
    # Exactly the page's own script element; the name only appears escaped (HTML) or inside a JS string.
    assert page.count("<script>") == 1 and page.count("</script>") == 1
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page and "&lt;b&gt;" in page


def test_port_in_use_is_reported() -> None:
    with run_in_thread(create_app()) as server:
        with pytest.raises(OSError):
            run_in_thread(create_app(), port=server.port)
