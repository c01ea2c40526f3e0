"""Is a BBB plugin manifest one that this server's akka-apps accepts? (``roomagent invite check``)

BigBlueButton 3.0 fetches plugin manifests on the server when a meeting is created and maps them with
Jackson in akka-apps ``core/models/Plugins.scala``; what it accepts depends on the version:

* ``strict-no-schema`` (the first 3.0 releases): no ``settingsSchema`` field and Jackson's default
  ``FAIL_ON_UNKNOWN_PROPERTIES``, so *any* field outside :data:`BASE_FIELDS` drops the plugin
  ("Error while processing plugin"); ``requiredSdkVersion`` is not checked;
* ``strict-schema``: knows ``settingsSchema``, still refuses unknown fields; checks ``requiredSdkVersion``
  against the client's SDK version with jsemver's ``satisfies``;
* ``lenient``: knows ``settingsSchema``, ignores unknown fields, checks ``requiredSdkVersion``.

This module checks a manifest against one of them, independently of the project's fakes. The
``requiredSdkVersion`` ranges understood are jsemver's common forms (``~``, ``^``, ``x`` wildcards,
comparisons, ``&``/``&&``/spaces for "and", ``|``/``||`` for "or"); anything else is reported as unreadable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Parser = Literal["strict-no-schema", "strict-schema", "lenient"]

#: PluginManifestContent's fields in the first 3.0 Plugins.scala.
BASE_FIELDS = frozenset({
    "requiredSdkVersion", "name", "javascriptEntrypointUrl", "enabledForBreakoutRooms",
    "javascriptEntrypointIntegrity", "localesBaseUrl", "eventPersistence", "dataChannels", "remoteDataSources",
})
SCHEMA_FIELDS = BASE_FIELDS | {"settingsSchema"}
#: PluginSettingSchema's fields and the types Plugins.scala can match a value against.
SETTING_FIELDS = frozenset({"name", "type", "required", "defaultValue", "label"})
SETTING_TYPES = frozenset({"int", "float", "string", "boolean", "json"})
#: The parser a session-check shape goes with (README "Installing on a BigBlueButton server", generation table).
PARSER_OF_SHAPE: dict[str, Parser] = {"A": "strict-no-schema", "B": "strict-schema", "C": "lenient"}

Version = tuple[int, int, int]
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.+-]*)?")
_COMPARATOR = re.compile(r"(>=|<=|>|<|=|~|\^)?\s*(\S+)")


@dataclass(frozen=True)
class Finding:
    """One problem of a manifest: ``fail`` (the plugin is not loaded) or ``warn``; with what to do."""

    level: Literal["fail", "warn"]
    message: str
    fix: str


def parse_version(text: str) -> Version | None:
    """``"0.0.94"`` -> ``(0, 0, 94)``; pre-release and build suffixes are ignored; ``None`` if unreadable."""
    m = _VERSION.fullmatch(text.strip())
    if not m or any(part is not None and not part.isdigit() for part in m.groups()[1:]):
        return None
    return int(m[1]), int(m[2] or 0), int(m[3] or 0)


def _bounds(token: str) -> list[tuple[str, Version]] | None:
    """One comparator as (op, version) constraints; ``None`` when it cannot be read."""
    m = _COMPARATOR.fullmatch(token)
    if m is None:
        return None
    op, text = m[1] or "", m[2]
    if text in ("*", "x", "X"):
        return []
    v = _VERSION.fullmatch(text)
    if v is None:
        return None
    parts = [p for p in v.groups()]
    wild = [p is None or not p.isdigit() for p in parts]
    nums = [int(p) if p is not None and p.isdigit() else 0 for p in parts]
    major, minor, patch = nums
    if wild[1]:
        return [(">=", (major, 0, 0)), ("<", (major + 1, 0, 0))]
    if wild[2]:
        return [(">=", (major, minor, 0)), ("<", (major, minor + 1, 0))]
    version = (major, minor, patch)
    if op == "~":
        return [(">=", version), ("<", (major, minor + 1, 0))]
    if op == "^":
        upper = (major + 1, 0, 0) if major else (0, minor + 1, 0) if minor else (0, 0, patch + 1)
        return [(">=", version), ("<", upper)]
    return [(op or "=", version)]


def parse_range(text: str) -> list[list[tuple[str, Version]]] | None:
    """A jsemver range as alternatives of constraint lists; ``None`` when it cannot be read."""
    alternatives = []
    for alternative in re.split(r"\|\|?", text):
        joined = re.sub(r"(>=|<=|>|<|=|~|\^)\s+", r"\1", alternative.strip())  # ">= 1.0.0" is one comparator
        tokens = [t for t in re.split(r"&&?|\s+", joined) if t]
        if not tokens:
            return None
        constraints: list[tuple[str, Version]] = []
        for token in tokens:
            bounds = _bounds(token)
            if bounds is None:
                return None
            constraints += bounds
        alternatives.append(constraints)
    return alternatives


def _holds(version: Version, op: str, bound: Version) -> bool:
    return {">=": version >= bound, ">": version > bound, "<=": version <= bound, "<": version < bound,
            "=": version == bound}[op]


def satisfies(version: Version, ranges: list[list[tuple[str, Version]]]) -> bool:
    """True when ``version`` meets every constraint of one alternative."""
    return any(all(_holds(version, op, bound) for op, bound in alt) for alt in ranges)


def lowest_match(ranges: list[list[tuple[str, Version]]]) -> Version | None:
    """The lowest version any alternative accepts, ``None`` when none can be met (e.g. ``>1.0.0 <0.5.0``)."""
    found = []
    for alt in ranges:
        candidate = (0, 0, 0)
        for op, bound in alt:
            if op in (">=", "="):
                candidate = max(candidate, bound)
            elif op == ">":
                candidate = max(candidate, (bound[0], bound[1], bound[2] + 1))
        if all(_holds(candidate, op, bound) for op, bound in alt):
            found.append(candidate)
    return min(found) if found else None


def _fields(manifest: dict[str, Any], parser: Parser) -> list[Finding]:
    known = BASE_FIELDS if parser == "strict-no-schema" else SCHEMA_FIELDS
    findings = []
    for key in sorted(set(manifest) - known):
        if parser == "lenient":
            findings.append(Finding("warn", f"field {key!r} is ignored by this server and refused by stricter "
                                    "3.0.x servers", f"remove {key!r} from manifest.json"))
        elif key == "settingsSchema":
            findings.append(Finding("fail", "field 'settingsSchema' is unknown to this server's manifest parser: "
                                    "the plugin is dropped (\"Error while processing plugin\")",
                                    "use the manifest without settingsSchema (the plugin falls back to "
                                    "/roomagent-invite), or upgrade BigBlueButton"))
        else:
            findings.append(Finding("fail", f"field {key!r} is unknown to this server's manifest parser: the plugin "
                                    "is dropped (\"Error while processing plugin\")", f"remove {key!r}"))
    return findings


def _settings_schema(schema: Any, parser: Parser) -> list[Finding]:
    if not isinstance(schema, list):
        return [Finding("fail", "settingsSchema is not a list", "make settingsSchema a list of settings")]
    findings = []
    for i, entry in enumerate(schema):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(
                entry.get("type"), str):
            findings.append(Finding("fail", f"settingsSchema[{i}] needs a string name and type", "fix that entry"))
            continue
        extra = sorted(set(entry) - SETTING_FIELDS)
        if extra and parser == "strict-schema":
            findings.append(Finding("fail", f"settingsSchema[{i}] has fields this server refuses: {', '.join(extra)}",
                                    "remove them"))
        if entry["type"] not in SETTING_TYPES:
            findings.append(Finding("fail" if entry.get("required") else "warn",
                                    f"settingsSchema[{i}] type {entry['type']!r} is none of "
                                    f"{', '.join(sorted(SETTING_TYPES))}", "use one of those types"))
    return findings


def check_manifest(manifest: Any, parser: Parser, client_sdk: str | None = None) -> tuple[list[Finding], str]:
    """What ``parser`` would make of ``manifest`` (parsed JSON); also the SDK requirement in words."""
    if not isinstance(manifest, dict):
        return [Finding("fail", "the manifest is not a JSON object", "serve bbb-plugin/dist/manifest.json")], ""
    findings = _fields(manifest, parser)
    for key in ("name", "javascriptEntrypointUrl"):
        if not isinstance(manifest.get(key), str) or not manifest[key]:
            findings.append(Finding("fail", f"{key!r} is missing or not a string", f"set {key!r}"))
    if manifest.get("name") not in (None, "roomagent") and isinstance(manifest.get("name"), str):
        findings.append(Finding("warn", f"the plugin is called {manifest['name']!r}, not 'roomagent'; bbb-html5.yml "
                                "settings are looked up by this name", "use the shipped manifest"))
    if "settingsSchema" in manifest and parser != "strict-no-schema":
        findings += _settings_schema(manifest["settingsSchema"], parser)
    required = manifest.get("requiredSdkVersion")
    checked = parser != "strict-no-schema"
    if required is None:
        if checked:
            findings.append(Finding("fail", "requiredSdkVersion is missing; this server checks it and drops the "
                                    "plugin without one", "set requiredSdkVersion (e.g. \"~0.0.90\")"))
        return findings, "no SDK requirement"
    ranges = parse_range(required) if isinstance(required, str) else None
    if ranges is None:
        findings.append(Finding("fail" if checked else "warn", f"requiredSdkVersion {required!r} is not a "
                                "version range this check (or jsemver) can read", "use a range like \"~0.0.90\""))
        return findings, f"requiredSdkVersion {required!r}"
    lowest = lowest_match(ranges)
    if lowest is None:
        findings.append(Finding("fail", f"requiredSdkVersion {required!r} matches no version at all",
                                "fix the range"))
        return findings, f"requiredSdkVersion {required!r}"
    wanted = f"requiredSdkVersion {required!r} (needs the client's SDK {'.'.join(map(str, lowest))} or a later match)"
    if not checked:
        return findings, wanted + "; not checked by this server"
    if client_sdk:
        version = parse_version(client_sdk)
        if version is None:
            findings.append(Finding("warn", f"--client-sdk-version {client_sdk!r} is not a version", "give e.g. 0.0.94"))
        elif not satisfies(version, ranges):
            findings.append(Finding("fail", f"the client's SDK {client_sdk} does not satisfy {required!r}: the plugin "
                                    "is refused", "upgrade BigBlueButton or use a manifest built for that SDK"))
        else:
            wanted += f"; the client's SDK {client_sdk} satisfies it"
    return findings, wanted
