"""A fake BigBlueButton 3 server (and a fake Scalelite in front of it) for the adapter tests and the demo.

It reproduces the surfaces DESIGN.md §3.3 builds on, nothing more:

* ``GET /bigbluebutton/api/join`` answers 302 to ``/html5client/join?sessionToken=…`` and sets a
  ``JSESSIONID`` cookie (Path=/bigbluebutton) that binds the new session to this browser profile;
* ``GET /bigbluebutton/api/getJoinUrl`` mints a further join URL for the same user, honoured only
  with that cookie (bbb-web's session binding); absent on a BBB 2.x server (``get_join_url=False``);
* ``GET /bigbluebutton/api/enter`` tells the client page who it is, again only with the cookie;
* ``GET /html5client/join`` is a small client page with the ui-command layout events, the
  ``data-test`` buttons, ``getDisplayMedia`` on the share button and BBB's unload handlers
  (see ``fake_bbb_page.py`` and ``fake_bbb_client.js``).

With a ``secret`` the fake also checks checksums and knows meetings and roles: ``create``,
``getMeetingInfo``, ``isMeetingRunning``, ``end`` and bbb-web's session checks are in ``fake_bbb_api.py``;
joins then need a created meeting and a role, and ``getJoinUrl`` clones the calling user (same user id
and role). Plugins and the ``/roomagent-invite/`` proxy are in ``fake_bbb_plugins.py``.

Everything that happens is recorded in a thread-safe log (``app.state.fake``, also ``GET /_fake/log``);
the ``/_fake/*`` endpoints let a test end a meeting, kick or mute a session. Absolute URLs use the base
URL the request came in on, so the same app answers correctly as ``127.0.0.1`` and as ``localhost``.

The parts: ``fake_bbb_state.py`` (sessions and the log), ``fake_bbb_join.py`` (join, getJoinUrl, enter,
the client page), ``fake_bbb_api.py`` (administration API, session checks), ``fake_bbb_plugins.py``,
``fake_bbb_control.py`` (``/_fake/*``) and ``fake_bbb_scalelite.py``. This module builds the app and
keeps the names other code imports from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from roomagent.demo.bbb_generations import DEFAULT_GENERATION, BbbGeneration
from roomagent.demo.bbb_generations import generation as generation_named
from roomagent.demo.fake_bbb_api import api_routes
from roomagent.demo.fake_bbb_control import control_routes
from roomagent.demo.fake_bbb_join import LAYOUTS, SESSION_COOKIE, USERDATA_PREFIX, base_url, fake_checksum, join_routes
from roomagent.demo.fake_bbb_plugins import DEFAULT_PLUGIN_SETTINGS, plugin_routes
from roomagent.demo.fake_bbb_scalelite import create_scalelite_app
from roomagent.demo.fake_bbb_state import BbbSession, FakeBbbState

__all__ = [
    "LAYOUTS", "SESSION_COOKIE", "USERDATA_PREFIX", "BbbSession", "FakeBbbState", "base_url", "create_bbb_app",
    "create_scalelite_app", "fake_checksum",
]


def _read_client_js() -> str:
    from importlib.resources import files

    return (files("roomagent.demo") / "fake_bbb_client.js").read_text(encoding="utf-8")


def create_bbb_app(
    *,
    get_join_url: bool = True,
    layout_events: tuple[str, ...] | None = None,
    status_poll_ms: int = 250,
    secret: str | None = None,
    plugin_dir: str | Path | None = None,
    invite_base: str | None = None,
    plugin_settings: dict[str, Any] | None = None,
    generation: BbbGeneration | str = DEFAULT_GENERATION,
) -> Starlette:
    """A fresh fake BBB server; its state and log are ``app.state.fake`` (a :class:`FakeBbbState`).

    ``get_join_url=False`` is a BBB 2.x server (no getJoinUrl); ``layout_events`` are the window event
    names the client page listens to (``("CHANGE_ENFORCED_LAYOUT",)`` = an early 3.0 client);
    ``status_poll_ms`` is how often the page asks whether it was ended, kicked or muted.

    ``secret``: check checksums, require created meetings and roles (see the module docstring).
    ``plugin_dir``: the repository's ``bbb-plugin/`` (its ``host/`` and ``dist/`` are served);
    ``invite_base``: where ``/roomagent-invite/`` forwards to (also settable later as
    ``app.state.invite_base``); ``plugin_settings``: what the plugins read as their settings.
    ``generation``: the upstream 3.0.x variant to reproduce (a :class:`BbbGeneration` or its name);
    ``layout_events`` defaults to that generation's.
    """
    gen = generation_named(generation) if isinstance(generation, str) else generation
    routes = [
        *control_routes(),
        *join_routes(),
        *api_routes(),
        *plugin_routes(Path(plugin_dir) if plugin_dir is not None else None),
    ]
    app = Starlette(routes=routes)
    app.state.fake = FakeBbbState(
        get_join_url=get_join_url, layout_events=gen.layout_events if layout_events is None else layout_events,
        status_poll_ms=status_poll_ms, secret=secret,
        generation=gen,
    )
    app.state.client_js = _read_client_js()
    app.state.invite_base = invite_base
    app.state.plugin_settings = plugin_settings if plugin_settings is not None else DEFAULT_PLUGIN_SETTINGS
    return app
