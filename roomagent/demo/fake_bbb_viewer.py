"""Which ``getJoinUrl`` parameters reach the minted join URL, per caller role and BBB generation.

A pure function for the fake BBB's ``getJoinUrl`` (``fake_bbb.py``), reproducing bbb-web's
``ApiController.getJoinUrl`` (facts: ``shared/bbb-upstream-facts.md`` rows 20-25):

* **Inheritance** (BBB docs ``docs/data/getJoinUrl.tsx``, PR #21847, written with PR #21836): the new
  session inherits the calling session's ``enforceLayout`` unless one is given, and its ``userdata-*``
  merged with the given ones (the given ones win).
* **generation.viewer_join_params == "stripped"** (PR #21836: "Parameters supported only for
  moderators"): for a VIEWER caller ``enforceLayout``, ``sessionName`` and every ``userdata-*`` are
  dropped *silently* — the call still answers SUCCESS with a URL (the same as the older 3.0.x that
  ignored them for everybody, issue #21831 "Parameters are ignored"). What the session inherited stays.
* **"kept"** (PR #22943, and ``GetJoinUrlSpec.groovy`` of a later bbb-web): a VIEWER's ``userdata-*``
  pass unless their key is on ``getJoinUrlUserdataBlocklist`` (case-insensitive, entries trimmed,
  ``all`` blocks every key; default: :data:`DEFAULT_USERDATA_BLOCKLIST`); ``enforceLayout`` and
  ``sessionName`` pass. A moderator bypasses the blocklist, except in a breakout meeting. For every
  role a key outside ``[A-Za-z0-9_.]`` or with an empty value is dropped.

Nothing here refuses a call: upstream never does for these parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from roomagent.demo.bbb_generations import BbbGeneration

#: bbb-web's shipped ``getJoinUrlUserdataBlocklist`` (bigbluebutton.properties, PR #22943).
DEFAULT_USERDATA_BLOCKLIST = (
    "bbb_record_permission,bbb_record_video,bbb_fullaudio_bridge,bbb_transparent_listen_only,"
    "bbb_multi_user_pen_only,bbb_presenter_tools,bbb_multi_user_tools"
)
USERDATA_PREFIX = "userdata-"
#: Parameters only a moderator may set on a server with PR #21836 but without PR #22943.
MODERATOR_ONLY = ("enforceLayout", "sessionName")
_KEY_NAME = re.compile(r"[A-Za-z0-9_.]+")


class Caller(Protocol):
    """The session calling getJoinUrl, as the fake keeps it (``fake_bbb.BbbSession``)."""

    role: str
    enforce_layout: str
    userdata: dict[str, str]


def _blocked(key: str, blocklist: str) -> bool:
    entries = {entry.strip().lower() for entry in blocklist.split(",") if entry.strip()}
    return "all" in entries or key.lower() in entries


def surviving_join_params(generation: BbbGeneration, caller: Caller, params: Mapping[str, str], *,
                          blocklist: str = DEFAULT_USERDATA_BLOCKLIST, breakout: bool = False) -> dict[str, str]:
    """The join parameters bbb-web signs for ``caller``: ``params`` (what the fake would mint from the
    request: ``enforceLayout``, ``sessionName``, ``userdata-*`` and its own fixed ones) filtered by the
    caller's role and ``generation``, then completed with what the new session inherits.

    Parameters other than ``enforceLayout``, ``sessionName`` and ``userdata-*`` pass unchanged.
    """
    moderator = caller.role == "MODERATOR" and not breakout
    stripped = generation.viewer_join_params == "stripped" and not moderator
    out: dict[str, str] = {}
    given: dict[str, str] = {}
    for name, value in params.items():
        if name.startswith(USERDATA_PREFIX):
            key = name[len(USERDATA_PREFIX):]
            if stripped or not value or not _KEY_NAME.fullmatch(key):
                continue
            if not moderator and _blocked(key, blocklist):
                continue
            given[key] = value
        elif name in MODERATOR_ONLY:
            if not stripped and value:
                out[name] = value
        else:
            out[name] = value
    if "enforceLayout" not in out and caller.enforce_layout:
        out["enforceLayout"] = caller.enforce_layout
    merged = {**caller.userdata, **given}
    out.update({USERDATA_PREFIX + k: v for k, v in merged.items()})
    return out
