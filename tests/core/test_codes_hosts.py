"""Code alphabet and host allow-list rules shared by the directory and the agent."""

import pytest

from roomagent.core.codes import ALPHABET, generate_code, normalize_code
from roomagent.core.hosts import host_allowed, url_allowed, validate_pattern


def test_alphabet_has_no_look_alikes():
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET)


def test_generated_codes_are_canonical_and_vary():
    codes = {generate_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(normalize_code(c) == c and len(c) == 11 and c[3] == c[7] == "-" for c in codes)


@pytest.mark.parametrize("typed, canonical", [
    ("k7m4qx9tb", "K7M-4QX-9TB"), ("K7M-4QX-9TB", "K7M-4QX-9TB"), (" k7m 4qx-9tb ", "K7M-4QX-9TB"),
    ("K7M4QX9T", None), ("K7M4QX9TBB", None), ("K7M4QX9T0", None), ("K7M4QX9TI", None), ("", None),
])
def test_normalize(typed, canonical):
    assert normalize_code(typed) == canonical


@pytest.mark.parametrize("host, allowed", [
    ("bbb.example.org", True), ("BBB.Example.ORG.", True), ("a.b.example.org", True),
    ("example.org", False), ("evilexample.org", False), ("example.org.evil.com", False), (None, False),
])
def test_wildcards(host, allowed):
    assert host_allowed(host, ["*.example.org"]) is allowed


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x",
                                 "ftp://bbb.example.org/", "https://user@evil.com/@bbb.example.org"])
def test_urls_outside_http_or_the_list_are_refused(url):
    assert not url_allowed(url, ["bbb.example.org"])


@pytest.mark.parametrize("pattern", ["*", "*.org", "a.*.org", "", "bad host"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(ValueError):
        validate_pattern(pattern)
