"""GET /server, /server/{id}, /healthz, /openapi.json and the error shape of unknown routes."""

from __future__ import annotations

import pytest

from tests.directory.helpers import SERVERS, assert_error


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]["severs"]]


def test_default_first_then_names_ascending(shared_http):
    response = shared_http.get("/server")
    assert ids(response) == ["main", "alpha", "beta", "gamma", "zeta"]
    assert response.json()["meta"] == {
        "status": "success",
        "total": "5",
        "per_page": "20",
        "current_page": "1",
        "start": "1",
        "end": "5",
    }
    first = response.json()["data"]["severs"][0]
    assert first == next(s for s in SERVERS if s["id"] == "main")


def test_empty_parameters_mean_defaults(shared_http):
    response = shared_http.get("/server?per_page=&page=&default-server=&search=")
    assert ids(response) == ["main", "alpha", "beta", "gamma", "zeta"]
    assert (response.json()["meta"]["per_page"], response.json()["meta"]["current_page"]) == ("20", "1")


@pytest.mark.parametrize(
    ("page", "expected", "start", "end"),
    [(1, ["main", "alpha"], "1", "2"), (2, ["beta", "gamma"], "3", "4"), (3, ["zeta"], "5", "5"), (4, [], "0", "0")],
)
def test_pagination(shared_http, page, expected, start, end):
    response = shared_http.get("/server", params={"per_page": 2, "page": page})
    assert ids(response) == expected
    meta = response.json()["meta"]
    assert (meta["total"], meta["per_page"], meta["current_page"], meta["start"], meta["end"]) == (
        "5",
        "2",
        str(page),
        start,
        end,
    )


@pytest.mark.parametrize(
    ("default", "expected"),
    [("zeta", ["zeta", "alpha", "beta", "gamma", "main"]), ("nope", ["alpha", "beta", "gamma", "main", "zeta"])],
)
def test_default_server_parameter_overrides_the_setting(shared_http, default, expected):
    assert ids(shared_http.get("/server", params={"default-server": default})) == expected


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("*bbb", ["main", "beta", "zeta"]),
        ("jitsi", ["alpha", "gamma"]),  # plain text: substring; the default is not among them
        ("?ETA*", ["beta", "zeta"]),
        ("BETA", ["beta"]),
        ("main*", ["main"]),
        ("*", ["main", "alpha", "beta", "gamma", "zeta"]),
        ("bbb*", []),  # wildcards match the whole name
        ("nothing", []),
    ],
)
def test_search(shared_http, search, expected):
    response = shared_http.get("/server", params={"search": search})
    assert ids(response) == expected
    assert response.json()["meta"]["total"] == str(len(expected))


@pytest.mark.parametrize(
    "params", [{"per_page": 0}, {"per_page": 101}, {"per_page": "many"}, {"page": 0}, {"search": "x" * 101}]
)
def test_bad_query_parameters(shared_http, params):
    message = assert_error(shared_http.get("/server", params=params), 422)
    assert next(iter(params)) in message


def test_one_server(shared_http):
    response = shared_http.get("/server/alpha")
    assert response.json() == {
        "data": {"id": "alpha", "name": "alpha Jitsi", "url": "https://alpha.example.org"},
        "meta": {"status": "success"},
    }
    assert assert_error(shared_http.get("/server/unknown"), 404) == "server not found"


def test_unknown_route_has_the_error_shape(shared_http):
    assert_error(shared_http.get("/nowhere"), 404)


def test_openapi_documents_every_operation(shared_http):
    schema = shared_http.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) == {
        "/meeting", "/meeting/status", "/meeting/command", "/server", "/server/{server_id}", "/healthz"
    }
    assert set(paths["/meeting"]) == {"get", "post"}
    assert paths["/meeting"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MeetingCreateRequest"
    )
    assert "severs" in schema["components"]["schemas"]["ServerListData"]["properties"]
    for operations in paths.values():
        for operation in operations.values():
            assert "200" in operation["responses"]
