"""Fuzzing the live directory from its own OpenAPI document (schemathesis), plus property tests.

Bounded so the module stays well under the suite's time budget: a fixed number of examples per
operation, no deadline (a loaded CI machine must not turn slowness into a failure).
"""

from __future__ import annotations

import fnmatch
import ipaddress

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from roomagent.core.hosts import host_allowed, url_host
from roomagent.directory.server.discovery import glob_match
from roomagent.directory.server.main import run_in_thread
from roomagent.directory.server.ratelimit import client_address
from tests.directory.helpers import AUTH, FakeClock, http_client, settings_for

FUZZ_EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_directory():
    """A memory-store directory with a high failure limit, so fuzzing reaches past the rate limiter."""
    with run_in_thread(settings_for("memory", redeem_limit_per_min=10_000), clock=FakeClock()) as server:
        yield server


@pytest.fixture(scope="module")
def fuzz_http(fuzz_directory):
    """One client for the whole module (building an httpx client costs more than a request)."""
    with http_client(fuzz_directory.url) as client:
        yield client


@pytest.fixture(scope="module")
def api_schema(fuzz_directory):
    """The directory's own /openapi.json, loaded by schemathesis."""
    return schemathesis.openapi.from_url(fuzz_directory.url + "/openapi.json")


OPERATIONS = [
    ("POST", "/meeting"),
    ("GET", "/meeting"),
    ("GET", "/meeting/status"),
    ("POST", "/meeting/command"),
    ("GET", "/server"),
    ("GET", "/server/{server_id}"),
    ("GET", "/healthz"),
]
#: Operations behind a meeting server's bearer token: fuzzed with the real one half of the time.
AUTHENTICATED = {("POST", "/meeting"), ("GET", "/meeting/status"), ("POST", "/meeting/command")}
#: The only server errors an operation may answer, each documented: the relay's 501 (the fuzz
#: directory has no broker), 503 and 504. Any other 5xx, 500 above all, is a bug.
ALLOWED_5XX = {("POST", "/meeting/command"): {501, 503, 504}, ("GET", "/meeting/status"): {503}}


def test_every_operation_is_fuzzed(api_schema):
    documented = {(op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())}
    assert documented == set(OPERATIONS)


# Generated per operation at run time (the schema comes from the live server), hence the inner @given;
# schemathesis' pytest-lazy loader does not run on this pytest version.
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_api_never_fails_and_keeps_its_contract(api_schema, fuzz_directory, method, path):
    allowed_5xx = ALLOWED_5XX.get((method, path), set())
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    if not allowed_5xx:
        checks.append(not_a_server_error)

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=api_schema[path][method].as_strategy(), real_token=st.booleans())
    def exchange(case, real_token):
        # With the real token the body is validated; without it, the generated header meets the 401 path.
        headers = AUTH if (method, path) in AUTHENTICATED and real_token else None
        response = case.call(base_url=fuzz_directory.url, headers=headers, timeout=10)
        case.validate_response(response, checks=checks)
        assert response.status_code < 500 or response.status_code in allowed_5xx, response.text
        body = response.json()
        assert body["meta"]["status"] == ("success" if response.status_code == 200 else "error")

    exchange()


_JOIN_URLS = st.one_of(
    st.builds(
        "{}://{}/{}".format,
        st.sampled_from(["https", "http", "HTTPS", "javascript", "file", "data", "ftp", ""]),
        st.sampled_from(
            ["bbb.example.org", "a.b.example.org", "example.org", "evil.com", "meet.example.net", "[::1]", ""]
            + ["bbb.example.org:8443", "bbb.example.org:99999", "u:p@bbb.example.org", "bbb.example.org.evil.com"]
        ),
        st.text(max_size=40),
    ),
    st.text(max_size=60),
)


@settings(max_examples=150, deadline=None, database=None)
@given(join_url=_JOIN_URLS)
def test_join_urls_are_accepted_exactly_when_allowed(fuzz_http, join_url):
    created = fuzz_http.post("/meeting", json={"data": {"join_url": join_url}}, headers=AUTH)
    assert created.status_code in (200, 422), created.text
    if created.status_code == 422:
        assert created.json()["meta"]["status"] == "error"
        return
    host = url_host(join_url)
    assert host_allowed(host, ["*.example.org", "meet.example.net"]) and "@" not in join_url.split("/")[2]
    redeemed = fuzz_http.get("/meeting", headers={"Code": created.json()["data"]["code"]})
    assert redeemed.json()["data"]["join_url"] == join_url


def _reference_glob(pattern: str, text: str) -> bool:
    # fnmatch also knows [...] classes; escape them so only * and ? are special, like the directory.
    escaped = "".join(f"[{ch}]" if ch in "[]" else ch for ch in pattern)
    return fnmatch.fnmatchcase(text, escaped)


@settings(database=None)
@given(st.text(alphabet="ab*?[]", max_size=8), st.text(alphabet="ab*?[]", max_size=10))
def test_glob_match_agrees_with_fnmatch(pattern, text):
    assert glob_match(pattern, text) == _reference_glob(pattern, text)


def test_glob_match_has_no_catastrophic_backtracking():
    # Quadratic at worst: this returns at once; a backtracking regex would not.
    assert not glob_match("*a" * 50 + "b", "a" * 200)


TRUSTED = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("192.0.2.1", "198.51.100.7", [], "192.0.2.1"),  # no trusted proxies: header ignored
        ("192.0.2.1", "198.51.100.7", TRUSTED, "192.0.2.1"),  # peer is not a trusted proxy
        ("10.0.0.1", "198.51.100.7", TRUSTED, "198.51.100.7"),
        ("10.0.0.1", "203.0.113.9, 198.51.100.7, 10.0.0.2", TRUSTED, "198.51.100.7"),  # rightmost untrusted
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", TRUSTED, "10.0.0.3"),  # all trusted: the farthest
        ("10.0.0.1", "junk, 198.51.100.7", TRUSTED, "198.51.100.7"),
        ("10.0.0.1", "198.51.100.7, junk", TRUSTED, "10.0.0.1"),  # unparsable hop: stop at what we trust
        ("10.0.0.1", None, TRUSTED, "10.0.0.1"),
        (None, "198.51.100.7", TRUSTED, "unknown"),
    ],
)
def test_client_address(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted) == expected
