"""Which getJoinUrl parameters survive for a VIEWER or a MODERATOR, per BBB generation (issue 20).

The pure rule (``fake_bbb_viewer.surviving_join_params``) and the fake server's getJoinUrl that uses it,
over HTTP with the session cookie as a browser profile would send it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from roomagent.demo.bbb_generations import CURRENT, EARLY, MIDDLE
from roomagent.demo.fake_bbb_viewer import surviving_join_params
from tests.demo.generation_servers import bbb_of

TIMEOUT_S = 5.0  # failure guard for loopback HTTP

ROOM_PARAMS = {
    "meetingID": "m1", "fullName": "Room", "parent": "tok",
    "sessionName": "left", "enforceLayout": "CAMERAS_ONLY",
    "userdata-bbb_auto_join_audio": "true", "userdata-bbb_custom_style": "a{b:c}",
    "userdata-bbb_record_video": "false",
}


@dataclass
class _Caller:
    role: str
    enforce_layout: str = ""
    userdata: dict[str, str] = field(default_factory=dict)


@pytest.mark.parametrize("generation", [EARLY, MIDDLE])
def test_stripped_generation_silently_drops_a_viewers_layout_name_and_userdata(generation) -> None:
    out = surviving_join_params(generation, _Caller("VIEWER"), ROOM_PARAMS)
    assert out == {"meetingID": "m1", "fullName": "Room", "parent": "tok"}


def test_stripped_generation_keeps_everything_for_a_moderator() -> None:
    assert surviving_join_params(MIDDLE, _Caller("MODERATOR"), ROOM_PARAMS) == ROOM_PARAMS


def test_kept_generation_applies_the_default_blocklist_to_a_viewer_only() -> None:
    viewer = surviving_join_params(CURRENT, _Caller("VIEWER"), ROOM_PARAMS)
    assert viewer == {k: v for k, v in ROOM_PARAMS.items() if k != "userdata-bbb_record_video"}
    # The room's own keys are not on the shipped blocklist.
    assert viewer["userdata-bbb_auto_join_audio"] == "true" and viewer["enforceLayout"] == "CAMERAS_ONLY"
    assert surviving_join_params(CURRENT, _Caller("MODERATOR"), ROOM_PARAMS) == ROOM_PARAMS
    # In a breakout room everybody is a moderator, so there the blocklist applies to moderators too.
    breakout = surviving_join_params(CURRENT, _Caller("MODERATOR"), ROOM_PARAMS, breakout=True)
    assert "userdata-bbb_record_video" not in breakout


@pytest.mark.parametrize("blocklist", ["all", " ALL ", "bbb_record_video, all"])
def test_blocklist_all_blocks_every_viewer_userdata_but_not_the_layout(blocklist: str) -> None:
    out = surviving_join_params(CURRENT, _Caller("VIEWER"), ROOM_PARAMS, blocklist=blocklist)
    assert not any(k.startswith("userdata-") for k in out) and out["enforceLayout"] == "CAMERAS_ONLY"


def test_blocklist_entries_are_trimmed_and_case_insensitive() -> None:
    params = {"userdata-BBB_Auto_Join_Audio": "true", "userdata-lang": "fr"}
    out = surviving_join_params(CURRENT, _Caller("VIEWER"), params, blocklist=" bbb_auto_join_audio ,x")
    assert out == {"userdata-lang": "fr"}


@pytest.mark.parametrize("key", ["a&b=c", "a=b", "", "bbb_x-", "my:theme"])
def test_bad_userdata_key_names_and_empty_values_are_dropped_for_every_role(key: str) -> None:
    params = {f"userdata-{key}": "1", "userdata-empty": ""}
    for role in ("VIEWER", "MODERATOR"):
        assert surviving_join_params(CURRENT, _Caller(role), params) == {}


@pytest.mark.parametrize("generation", [MIDDLE, CURRENT])
def test_the_new_session_inherits_the_callers_layout_and_userdata(generation) -> None:
    caller = _Caller("VIEWER", "PRESENTATION_ONLY", {"bbb_skip_check_audio": "true", "bbb_auto_join_audio": "false"})
    out = surviving_join_params(generation, caller, {"enforceLayout": "CAMERAS_ONLY",
                                                     "userdata-bbb_auto_join_audio": "true"})
    if generation is MIDDLE:  # dropped: what the session inherited is all it gets
        assert out == {"enforceLayout": "PRESENTATION_ONLY", "userdata-bbb_skip_check_audio": "true",
                       "userdata-bbb_auto_join_audio": "false"}
    else:  # kept: the given values win over the inherited ones
        assert out == {"enforceLayout": "CAMERAS_ONLY", "userdata-bbb_skip_check_audio": "true",
                       "userdata-bbb_auto_join_audio": "true"}


# -- the fake server's getJoinUrl ----------------------------------------------------------------------


def _join(client: httpx.Client, url: str) -> str:
    reply = client.get(url)
    assert reply.status_code == 302, reply.text
    return parse_qs(urlsplit(reply.headers["location"]).query)["sessionToken"][0]


def _mint(server, role: str) -> tuple[dict, dict]:
    """Join as ``role``, ask for a room screen's URL; return the answer and the minted URL's query."""
    with httpx.Client(timeout=TIMEOUT_S) as client:  # one browser profile: its own cookie jar
        token = _join(client, server.join_url("m1", role=role))
        answer = client.get(f"{server.url}/bigbluebutton/api/getJoinUrl", params={
            "sessionToken": token, "sessionName": "left", "enforceLayout": "CAMERAS_ONLY",
            "userdata-bbb_auto_join_audio": "true"}).json()["response"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.get("url", "")).query).items()}
    return answer, query


@pytest.mark.parametrize(("generation", "role", "survives"), [
    (MIDDLE, "VIEWER", False), (EARLY, "VIEWER", False), (MIDDLE, "MODERATOR", True),
    (CURRENT, "VIEWER", True), (CURRENT, "MODERATOR", True),
])
def test_fake_get_join_url_answers_success_and_signs_only_what_survives(request, generation, role, survives) -> None:
    answer, query = _mint(bbb_of(request, generation), role)
    assert answer["returncode"] == "SUCCESS"  # never refused: the parameters are dropped silently
    assert query["meetingID"] == "m1" and "checksum" in query
    got = {k: query.get(k) for k in ("sessionName", "enforceLayout", "userdata-bbb_auto_join_audio")}
    if survives:
        assert got == {"sessionName": "left", "enforceLayout": "CAMERAS_ONLY", "userdata-bbb_auto_join_audio": "true"}
    else:
        assert got == {"sessionName": None, "enforceLayout": None, "userdata-bbb_auto_join_audio": None}


def test_minted_viewer_session_on_a_stripped_server_enters_with_only_what_it_inherited(request) -> None:
    server = bbb_of(request, MIDDLE)
    with httpx.Client(timeout=TIMEOUT_S) as room:
        token = _join(room, server.join_url("m1", userdata={"bbb_skip_check_audio": "true"}))
        url = room.get(f"{server.url}/bigbluebutton/api/getJoinUrl", params={
            "sessionToken": token, "enforceLayout": "CAMERAS_ONLY", "userdata-bbb_auto_join_audio": "true",
        }).json()["response"]["url"]
    with httpx.Client(timeout=TIMEOUT_S) as screen:  # a second browser profile opens the minted link
        clone = _join(screen, url)
        info = screen.get(f"{server.url}/bigbluebutton/api/enter", params={"sessionToken": clone}).json()["response"]
    assert info["returncode"] == "SUCCESS"
    assert info["enforceLayout"] == "" and info["sessionName"] == ""
    assert info["userdata"] == {"bbb_skip_check_audio": "true"}
