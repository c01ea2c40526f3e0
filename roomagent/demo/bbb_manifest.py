"""How a BigBlueButton 3.0.x server accepts or drops a plugin manifest, per generation.

Upstream, bbb-web fetches each ``pluginManifests`` URL when the meeting is created and akka-apps
(``akka-bbb-apps/.../core/models/Plugins.scala``) maps the JSON with a Jackson ``ObjectMapper``:

* ``strict-no-schema`` (the first 3.0 releases): the content knows ``requiredSdkVersion``, ``name``,
  ``javascriptEntrypointUrl``, ``enabledForBreakoutRooms``, ``javascriptEntrypointIntegrity``,
  ``localesBaseUrl``, ``eventPersistence``, ``dataChannels`` and ``remoteDataSources``; any other field
  (``settingsSchema`` too) fails the mapping, "Error while processing plugin", and the plugin is dropped.
  ``requiredSdkVersion`` is not checked.
* ``strict-schema``: also knows ``settingsSchema`` (entries ``name``, ``type``, ``required``,
  ``defaultValue``, ``label``), still fails on unknown fields, and checks ``requiredSdkVersion`` with
  jsemver's ``Version.parse(clientSdk).satisfies(range)``.
* ``lenient``: like ``strict-schema`` but ``FAIL_ON_UNKNOWN_PROPERTIES=false``.

In the schema generations a ``required`` setting without a value in ``bbb-html5.yml`` whose
``defaultValue`` does not have the declared ``type`` drops the plugin. Relative ``javascriptEntrypointUrl``
and ``localesBaseUrl`` become absolute by plain string concatenation with the manifest URL up to its last
``/`` (``makeAbsoluteUrl``); URLs starting with ``http://`` or ``https://`` are kept.

The fake BBB (``fake_bbb_plugins.py``) uses this to hand its client page only the plugins the real
server would have stored in its ``plugin`` table; ``roomagent invite check`` may use it to judge a
manifest against a server's generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import semantic_version

from roomagent.demo.bbb_generations import BbbGeneration

#: PluginManifestContent's fields in the first 3.0 generation (Plugins.scala without settingsSchema).
BASE_FIELDS = frozenset({
    "requiredSdkVersion", "name", "javascriptEntrypointUrl", "enabledForBreakoutRooms",
    "javascriptEntrypointIntegrity", "localesBaseUrl", "eventPersistence", "dataChannels", "remoteDataSources",
})
#: PluginSettingSchema's fields.
SCHEMA_ENTRY_FIELDS = frozenset({"name", "type", "required", "defaultValue", "label"})


@dataclass(frozen=True)
class PluginLoad:
    """What the server made of one manifest: the stored plugin row, or why it was dropped."""

    manifest_url: str
    name: str | None
    javascript_entrypoint_url: str = ""
    javascript_entrypoint_integrity: str = ""
    locales_base_url: str | None = None
    load_failure_reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the client will load this plugin."""
        return self.load_failure_reason is None

    def client_row(self) -> dict[str, Any]:
        """The row as the client's GraphQL ``plugin`` query returns it."""
        return {
            "name": self.name,
            "javascriptEntrypointUrl": self.javascript_entrypoint_url,
            "javascriptEntrypointIntegrity": self.javascript_entrypoint_integrity,
            "localesBaseUrl": self.locales_base_url,
            "loadFailureReason": self.load_failure_reason,
        }


def make_absolute_url(manifest_url: str, url: str) -> str:
    """``url`` resolved like Plugins.scala's ``makeAbsoluteUrl`` (string concatenation, no normalising)."""
    if url.startswith(("http://", "https://")):
        return url
    return manifest_url[: manifest_url.rfind("/") + 1] + url


def sdk_satisfies(client_sdk_version: str, required: str) -> bool:
    """Whether the client's SDK version is inside the npm-style range ``required`` (``~0.0.90``...)."""
    return semantic_version.Version(client_sdk_version) in semantic_version.NpmSpec(required)


def _setting_type(value: Any) -> str:
    # Plugins.scala's getSettingType; bool first, as a Python bool is also an int.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "json"
    return "none"


def _mapping_error(content: Any, generation: BbbGeneration) -> str | None:
    """Why Jackson would fail to map ``content`` in ``generation``, or ``None``."""
    if not isinstance(content, dict):
        return "the manifest is not a JSON object"
    for key in ("name", "javascriptEntrypointUrl"):
        if not isinstance(content.get(key), str) or not content[key]:
            return f"{key!r} is missing or not a string"
    if generation.manifest_parser == "lenient":
        return None
    known = BASE_FIELDS if generation.manifest_parser == "strict-no-schema" else BASE_FIELDS | {"settingsSchema"}
    unknown = sorted(set(content) - known)
    if unknown:
        return f"Unrecognized field {unknown[0]!r} (not marked as ignorable)"
    schema = content.get("settingsSchema")
    if schema is not None:
        if not isinstance(schema, list) or not all(isinstance(e, dict) for e in schema):
            return "'settingsSchema' is not a list of objects"
        for entry in schema:
            extra = sorted(set(entry) - SCHEMA_ENTRY_FIELDS)
            if extra:
                return f"Unrecognized field {extra[0]!r} in settingsSchema (not marked as ignorable)"
    return None


def _settings_error(content: dict[str, Any], settings: dict[str, Any]) -> str | None:
    """Why a required setting drops the plugin (schema generations only), or ``None``."""
    schema = content.get("settingsSchema")
    if not isinstance(schema, list):
        return None
    for entry in schema:
        if not isinstance(entry, dict) or not entry.get("required"):
            continue
        wanted = entry.get("type")
        if entry.get("name") in settings:
            ok = _setting_type(settings[entry.get("name")]) == wanted
        else:
            ok = _setting_type(entry.get("defaultValue")) == wanted
        if not ok:
            return f"Plugin [{content['name']}] will not be loaded due to invalid setting [{entry.get('name')}]"
    return None


def parse_manifest(manifest_url: str, content: Any, generation: BbbGeneration,
                   settings: dict[str, Any] | None = None) -> PluginLoad:
    """What a ``generation`` server stores for the manifest ``content`` fetched from ``manifest_url``.

    ``settings`` are this plugin's settings from ``bbb-html5.yml`` (``public.plugins[].settings``).
    """
    error = _mapping_error(content, generation)
    name = content.get("name") if isinstance(content, dict) and isinstance(content.get("name"), str) else None
    if error is not None:
        return PluginLoad(manifest_url, name, load_failure_reason=f"Error while processing plugin [{name}]: {error}")
    required = content.get("requiredSdkVersion")
    if generation.checks_sdk_version:
        try:
            fits = isinstance(required, str) and sdk_satisfies(generation.client_sdk_version, required)
        except ValueError as exc:
            return PluginLoad(manifest_url, name, load_failure_reason=(
                f"Plugin SDK version of either HTML5 or plugin manifest couldn't be parsed [{name}]: {exc}"))
        if not fits:
            return PluginLoad(manifest_url, name, load_failure_reason=(
                f"Cannot load plugin [{name}]: system SDK version [{generation.client_sdk_version}] does not "
                f"satisfy plugin requirement [{required}]."))
    if generation.manifest_parser != "strict-no-schema":
        error = _settings_error(content, settings or {})
        if error is not None:
            return PluginLoad(manifest_url, name, load_failure_reason=error)
    locales = content.get("localesBaseUrl")
    integrity = content.get("javascriptEntrypointIntegrity")
    return PluginLoad(
        manifest_url,
        name,
        javascript_entrypoint_url=make_absolute_url(manifest_url, content["javascriptEntrypointUrl"]),
        javascript_entrypoint_integrity=integrity if isinstance(integrity, str) else "",
        locales_base_url=make_absolute_url(manifest_url, locales) if isinstance(locales, str) else None,
    )


def fetch_failure(manifest_url: str, why: str) -> PluginLoad:
    """The row for a manifest the server could not fetch or read."""
    return PluginLoad(manifest_url, None, load_failure_reason=f"Error while fetching manifest {manifest_url}: {why}")
