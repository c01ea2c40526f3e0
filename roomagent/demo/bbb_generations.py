"""The BigBlueButton 3.0.x generations the fakes reproduce (facts: ``shared/bbb-upstream-facts.md``).

A *generation* is one combination of upstream behaviours that a real 3.0.x server may show. The fake
BBB server (``fake_bbb*.py``), the fake plugin host (``bbb-plugin/host/host.js``, which receives the
generation's client-side facts in ``window.__FAKE_BBB__.generation``) and ``roomagent invite check``'s
tests all take one of these by name, so a test can run the same flow against every generation.

Each field names the upstream file its behaviour comes from. The names in :data:`GENERATIONS` are the
shared contract between the fakes and the tests; a field may be refined when upstream's source says
otherwise (say so in the closing note), and ``dataclasses.replace`` builds a one-off variant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

#: How akka-apps ``core/models/Plugins.scala`` maps a fetched manifest (Jackson ObjectMapper):
#: ``strict-no-schema`` = no ``settingsSchema`` field and FAIL_ON_UNKNOWN_PROPERTIES (unknown field =
#: "Error while processing plugin", plugin dropped); ``strict-schema`` = knows ``settingsSchema``, still
#: strict on unknown fields; ``lenient`` = knows it and ignores unknown fields.
ManifestParser = Literal["strict-no-schema", "strict-schema", "lenient"]

#: The three shapes of bbb-web's ``ConnectionController.checkGraphqlAuthorization``:
#: ``A`` = User-Agent must start with ``hasura-graphql-engine``, answers a JSON body
#: (``X-Hasura-Role``, ``X-Hasura-UserId``, ``X-Hasura-MeetingId`` = the *internal* meeting id,
#: ``X-Hasura-ModeratorInMeeting`` = that id for a moderator, else "", lock variables) and **no** identity
#: headers; a removed user's token gets 200 (role ``not_joined_bbb_client``) without the cookie check;
#: ``B`` = no User-Agent check, headers Meeting-Id, Meeting-External-Id, User-Id, User-External-Id,
#: User-Name (URL-encoded), User-Is-Moderator, User-Is-Presenter, and a JSON body (``X-Currently-Online``...);
#: an ``x-original-method: OPTIONS`` preflight passes; ``C`` = B plus User-Notes-Enabled. Every shape
#: refuses with 401 and the JSON body ``{"response": "unauthorized"}``.
SessionCheck = Literal["A", "B", "C"]

#: What bbb-web's ``getJoinUrl`` does with ``enforceLayout``, ``sessionName`` and ``userdata-*`` when the
#: calling session is a VIEWER: ``stripped`` (BBB PR #21836, moderators only, the parameters are dropped)
#: or ``kept`` (PR #22943, allowed subject to ``getJoinUrlUserdataBlocklist``).
ViewerJoinParams = Literal["stripped", "kept"]


@dataclass(frozen=True)
class BbbGeneration:
    """One upstream variant of a BBB 3.0.x server and its html5 client."""

    name: str
    summary: str
    #: akka-apps Plugins.scala: how the manifest is parsed.
    manifest_parser: ManifestParser
    #: akka-apps Plugins.scala: whether ``requiredSdkVersion`` is checked (jsemver ``satisfies``).
    checks_sdk_version: bool
    #: The SDK version the server's html5 client bundles (what ``requiredSdkVersion`` is checked against).
    client_sdk_version: str
    #: bbb-web ConnectionController.checkGraphqlAuthorization.
    session_check: SessionCheck
    #: bbb-web ApiController getJoinUrl, for a VIEWER caller.
    viewer_join_params: ViewerJoinParams
    #: html5 actions-dropdown: whether a plugin option's ``dataTest`` becomes ``data-test``.
    renders_data_test: bool
    #: html5 plugins-engine manager: whether ``getPluginApi`` receives ``localesBaseUrl``.
    passes_locales_base_url: bool
    #: html5 client: the window event names the layout ui-command handler listens to.
    layout_events: tuple[str, ...]
    #: html5 extensible-areas manager: ``generateItemWithId`` overwrites every item's id with its index.
    overwrites_item_ids: bool = True

    def client_facts(self) -> dict[str, Any]:
        """The client-side part, as ``window.__FAKE_BBB__.generation`` carries it to host.js."""
        facts = asdict(self)
        facts["layout_events"] = list(self.layout_events)
        return facts


EARLY = BbbGeneration(
    name="early",
    summary="first 3.0 releases: strict manifest without settingsSchema, hasura session check (A)",
    manifest_parser="strict-no-schema",
    checks_sdk_version=False,
    client_sdk_version="0.0.59",
    session_check="A",
    viewer_join_params="stripped",
    renders_data_test=False,
    passes_locales_base_url=False,
    layout_events=("CHANGE_ENFORCED_LAYOUT",),
)
MIDDLE = BbbGeneration(
    name="middle",
    summary="3.0 with settingsSchema (strict), SDK check, header session check (B), viewer params stripped",
    manifest_parser="strict-schema",
    checks_sdk_version=True,
    client_sdk_version="0.0.90",
    session_check="B",
    viewer_join_params="stripped",
    renders_data_test=True,
    passes_locales_base_url=True,
    layout_events=("SET_ENFORCED_LAYOUT", "CHANGE_ENFORCED_LAYOUT"),
)
CURRENT = BbbGeneration(
    name="current",
    summary="later 3.0.x: lenient manifest, SDK check, session check C, viewer params kept (PR #22943)",
    manifest_parser="lenient",
    checks_sdk_version=True,
    client_sdk_version="0.0.94",
    session_check="C",
    viewer_join_params="kept",
    renders_data_test=True,
    passes_locales_base_url=True,
    layout_events=("SET_ENFORCED_LAYOUT", "CHANGE_ENFORCED_LAYOUT"),
)

#: Every generation by name, oldest first.
GENERATIONS: dict[str, BbbGeneration] = {g.name: g for g in (EARLY, MIDDLE, CURRENT)}
#: What a fake BBB is when a test does not say.
DEFAULT_GENERATION = CURRENT


def generation(name: str) -> BbbGeneration:
    """The generation called ``name``; a clear error naming the known ones otherwise."""
    try:
        return GENERATIONS[name]
    except KeyError:
        raise ValueError(f"unknown BBB generation {name!r}; known: {', '.join(GENERATIONS)}") from None
