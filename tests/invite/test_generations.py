"""The invite service establishes the teacher's identity on every BBB 3.0.x generation the fake
reproduces (session check A, B, C), and says in words when a server's check names nobody."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from roomagent.demo.bbb_generations import GENERATIONS
from roomagent.serving import run_in_thread
from tests.invite.world import REFUSED, Person, World, error_of, refused_caller


@pytest.fixture(scope="module", params=list(GENERATIONS))
def gen_world(request, broker) -> Iterator[World]:
    w = World(broker.url, generation=request.param)
    yield w
    w.stop()


def _meeting(world: World) -> tuple[str, Person, Person]:
    meeting = "gen-" + secrets.token_hex(4)
    world.bbb.create(meeting)
    teacher = world.bbb.join(meeting, "Prof. Ada", "MODERATOR")
    student = world.bbb.join(meeting, "Student Bob", "VIEWER")
    return meeting, teacher, student


def test_a_moderator_invites_a_room_on_every_generation(gen_world: World) -> None:
    meeting, teacher, _ = _meeting(gen_world)
    answer = gen_world.call("POST", "/invites", teacher, json={"server_id": "uni-a"})
    assert answer.status_code == 201, answer.text
    [room] = gen_world.call("GET", "/room", teacher).json()["rooms"]
    assert room["code"] == answer.json()["code"]
    assert gen_world.call("GET", "/servers", teacher).status_code == 200


@pytest.mark.parametrize("who", ["viewer", "no cookie", "forged token", "kicked", "demoted", "ended"])
def test_everyone_else_is_refused_the_same_way_on_every_generation(gen_world: World, who: str) -> None:
    meeting, teacher, student = _meeting(gen_world)
    person, cookie = refused_caller(gen_world, who, meeting, teacher, student)
    before = gen_world.recorder.creations()
    answer = gen_world.call("POST", "/invites", person, cookie=cookie, json={"server_id": "uni-a"})
    assert error_of(answer) == REFUSED[who], answer.text
    assert gen_world.recorder.creations() == before


def test_a_token_of_another_meeting_names_only_that_meeting(gen_world: World) -> None:
    _, teacher_a, _ = _meeting(gen_world)
    _, teacher_b, _ = _meeting(gen_world)
    gen_world.call("POST", "/invites", teacher_a, json={"server_id": "uni-a"}).raise_for_status()
    assert gen_world.call("GET", "/room", teacher_b).json() == {"rooms": []}


def _web(answer):
    async def check(_request):
        return answer()

    return Starlette(routes=[Route("/bigbluebutton/connection/checkGraphqlAuthorization", check)])


@pytest.mark.parametrize("answer", [
    lambda: JSONResponse({"response": "authorized"}),  # 200, but nobody named
    lambda: PlainTextResponse("<html>not here</html>", status_code=404),  # no such endpoint (BBB 2.x)
    lambda: PlainTextResponse("authorized"),
])
def test_a_session_check_in_no_known_shape_is_said_in_words_not_502(broker, answer) -> None:
    web = run_in_thread(_web(answer))
    world = World(broker.url, web_url=f"{web.url}/bigbluebutton/")
    try:
        _, teacher, _ = _meeting(world)
        refused = world.call("GET", "/servers", teacher)
        assert error_of(refused) == (503, "identity_unsupported")
        assert "roomagent invite check" in refused.json()["error"]["message"]
    finally:
        world.stop()
        web.stop()
