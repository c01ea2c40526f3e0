"""Both screen engines implement the one screen-session interface, and nothing reaches across them.

Checked on the classes (no browser is started): every abstract member of ScreenSession is implemented
by BrowserSession and ChromiumSession, the signals are declared once, an engine that drops a member is
caught, and no module of the product imports another module's private names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import Signal

import roomagent
from roomagent.ui.browser import BrowserSession
from roomagent.ui.chromium.session import ChromiumSession
from roomagent.ui.page_policy import HostPolicy, blocked_local_resource, dialog_answer, unwrap_json
from roomagent.ui.session import SIGNALS, ScreenSession, missing_members

ENGINES = (BrowserSession, ChromiumSession)
#: The interface as callers use it (ui/screen.py, ui/codecs.py, app.py, the meeting adapters).
INTERFACE = {"widget", "url", "title", "renderer_pid", "closed", "unloading", "load", "load_html", "unload",
             "enable_bridge", "add_script", "run_json", "reload", "close"}
ABSTRACT = sorted(name for name in dir(ScreenSession)
                  if getattr(getattr(ScreenSession, name), "__isabstractmethod__", False))


def test_the_interface_declares_what_callers_use():
    assert set(ABSTRACT) == INTERFACE - {"closed", "unloading"}
    assert all(isinstance(getattr(ScreenSession, name), Signal) for name in SIGNALS)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda cls: cls.__name__)
def test_each_engine_implements_every_member(engine):
    assert issubclass(engine, ScreenSession)
    assert missing_members(engine) == []
    for name in INTERFACE:
        assert not getattr(getattr(engine, name), "__isabstractmethod__", False), name


@pytest.mark.parametrize("engine", ENGINES, ids=lambda cls: cls.__name__)
def test_the_signals_are_declared_once(engine):
    for name in SIGNALS:
        assert getattr(engine, name) is getattr(ScreenSession, name)
        assert name not in vars(engine), f"{engine.__name__} redeclares {name}"


@pytest.mark.parametrize("engine", ENGINES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("dropped", ABSTRACT)
def test_an_engine_without_a_member_is_caught(engine, dropped):
    # The engine's own namespace, less one member, on the interface: as if the engine had dropped it.
    namespace = {k: v for k, v in vars(engine).items() if k != dropped and not k.startswith("__")}
    broken = type(engine)(f"Broken{engine.__name__}", (ScreenSession,), namespace)
    assert missing_members(broken) == [dropped]
    with pytest.raises(TypeError, match=dropped):
        broken("s-1", [], False)


def test_an_engine_that_replaces_a_signal_is_caught():
    broken = type(BrowserSession)("Broken", (BrowserSession,), {"refused": None})
    assert missing_members(broken) == ["refused"]


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("roomagent"):
            found += [f"{path.name}: from {node.module} import {a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_module_imports_another_modules_private_names():
    root = Path(roomagent.__file__).parent
    assert [hit for path in sorted(root.rglob("*.py")) for hit in _private_imports(path)] == []


# -- the shared page policy ------------------------------------------------------------------------

def test_host_policy_trusts_what_it_was_told_to_load():
    policy = HostPolicy(["*.example.org"])
    assert policy.allows("https://meet.example.org/room")
    assert policy.verdict("https://other.test/x", main_frame=True) == "navigation"
    policy.trust("https://other.test/join?x=1")
    policy.trust("https://meet.example.org/again")  # already allowed: not added twice
    assert policy.hosts == ("*.example.org", "other.test")
    assert policy.verdict("https://other.test/x", main_frame=True) is None
    assert policy.verdict("file:///etc/hostname", main_frame=True) == "file"


def test_page_results_are_unwrapped_the_same_for_both_engines():
    assert unwrap_json('{"ok": true, "value": {"a": 1}}', "none") == ({"a": 1}, None)
    assert unwrap_json('{"ok": false, "error": "ReferenceError: x"}', "none") == (None, "ReferenceError: x")
    assert unwrap_json("", "script did not run") == (None, "script did not run")
    assert unwrap_json(None, "script did not run") == (None, "script did not run")
    value, error = unwrap_json("{not json", "none")
    assert value is None and error.startswith("unreadable result")


def test_local_resource_refusals_and_dialog_answers():
    assert blocked_local_resource("Not allowed to load local resource: file:///etc/hostname ") == "file:///etc/hostname"
    assert blocked_local_resource("Uncaught TypeError: x") is None
    assert [dialog_answer(d) for d in ("alert", "confirm", "prompt", "beforeunload", "other")] == [
        True, False, False, True, False]
