"""Issue 12 item 9: a join whose page redirects to a host off the room's allow-list fails at once with
``host_not_allowed`` naming the host (before: the room sat in "joining" until the 45 s join timeout)."""

from __future__ import annotations

import pytest
from starlette.responses import RedirectResponse
from starlette.routing import Route

from roomagent.core.state import ErrorKind, Lifecycle
from roomagent.demo import meeting_server
from roomagent.serving import run_in_thread as serve_app
from tests.app.conftest import WAIT_MS, new_code, type_code


@pytest.fixture
def redirecting():
    async def elsewhere(request):
        # localhost is the same machine, but only 127.0.0.1 is on the room's allow-list.
        return RedirectResponse(f"http://localhost:{request.url.port}/meeting/elsewhere", 302)

    server = serve_app(meeting_server.create_app(extra_routes=[Route("/go", elsewhere)]))
    yield server
    server.stop()


def test_a_redirect_to_a_host_not_allowed_fails_the_join_at_once(qtbot, make_agent, directory, redirecting):
    agent = make_agent(directory.url)
    type_code(qtbot, agent, new_code(directory.url, f"{redirecting.url}/go"))
    qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.JOINING, timeout=WAIT_MS)
    # A failure guard longer than the join timeout: a room that waits for it ends with join_timeout.
    qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IDLE, timeout=agent.rules.join_timeout_s * 1000 + WAIT_MS)
    assert agent.state.error.kind is ErrorKind.HOST_NOT_ALLOWED and agent.state.error.detail == "localhost"
    assert "localhost, which this room is not allowed to open" in agent.panel.message_label.text()
    assert all(w.session is None for w in agent.windows.values())
