"""The manifest rules of ``invite check`` (akka-apps Plugins.scala per generation) and its jsemver ranges."""

from __future__ import annotations

import pytest

from roomagent.invite.check_manifest import check_manifest, lowest_match, parse_range, satisfies

BASE = {"requiredSdkVersion": "~0.0.90", "name": "roomagent", "javascriptEntrypointUrl": "roomagent-plugin.js",
        "localesBaseUrl": "locales"}
SCHEMA = [{"name": "inviteServiceUrl", "type": "string", "required": False, "defaultValue": "/roomagent-invite"}]


@pytest.mark.parametrize("text, inside, outside", [
    ("~0.0.90", ["0.0.90", "0.0.99"], ["0.0.89", "0.1.0"]),
    ("^0.0.90", ["0.0.90"], ["0.0.91"]),
    (">=0.0.90 <0.1.0", ["0.0.94"], ["0.1.0"]),
    (">= 0.0.90 & < 0.1.0", ["0.0.94"], ["0.0.5"]),
    ("0.0.x", ["0.0.1"], ["0.1.0"]),
    ("0.0.59 || ~0.0.90", ["0.0.59", "0.0.94"], ["0.0.60"]),
])
def test_ranges_read_as_jsemver_does(text, inside, outside) -> None:
    ranges = parse_range(text)
    assert ranges is not None
    for v in inside:
        assert satisfies(tuple(map(int, v.split("."))), ranges), v
    for v in outside:
        assert not satisfies(tuple(map(int, v.split("."))), ranges), v


def test_unreadable_and_unsatisfiable_ranges_are_told_apart() -> None:
    assert parse_range("garbage!") is None and parse_range("") is None
    assert lowest_match(parse_range(">1.0.0 <0.5.0")) is None
    findings, _ = check_manifest({**BASE, "requiredSdkVersion": ">1.0.0 <0.5.0"}, "lenient")
    assert [f.level for f in findings] == ["fail"] and "matches no version" in findings[0].message


@pytest.mark.parametrize("parser, schema_ok, unknown_level", [
    ("strict-no-schema", False, "fail"), ("strict-schema", True, "fail"), ("lenient", True, "warn")])
def test_fields_per_parser(parser, schema_ok, unknown_level) -> None:
    assert check_manifest(BASE, parser)[0] == []
    with_schema, _ = check_manifest({**BASE, "settingsSchema": SCHEMA}, parser)
    assert (with_schema == []) is schema_ok
    unknown, _ = check_manifest({**BASE, "homepage": "x"}, parser)
    assert [f.level for f in unknown] == [unknown_level] and "homepage" in unknown[0].message


def test_required_sdk_version_matters_only_where_it_is_checked() -> None:
    no_version = {k: v for k, v in BASE.items() if k != "requiredSdkVersion"}
    assert check_manifest(no_version, "strict-no-schema")[0] == []
    assert [f.level for f in check_manifest(no_version, "strict-schema")[0]] == ["fail"]
    assert check_manifest(BASE, "lenient", "0.0.94")[0] == []
    assert "0.0.59" in check_manifest(BASE, "lenient", "0.0.59")[0][0].message
    assert "not checked" in check_manifest(BASE, "strict-no-schema", "0.0.59")[1]


@pytest.mark.parametrize("manifest", [None, [], "x", {"name": 3}, {**BASE, "settingsSchema": "nope"},
                                      {**BASE, "settingsSchema": [{"name": "a"}]}, {**BASE, "requiredSdkVersion": 7}])
def test_malformed_manifests_are_findings_not_crashes(manifest) -> None:
    findings, _ = check_manifest(manifest, "strict-schema")
    assert findings and all(f.message and f.fix for f in findings)
