"""The page-side pieces of the Chromium engine: the bridge bootstrap and the main-frame guard.

The bridge is ``Runtime.addBinding``: Chromium installs a function ``window.__roomagentBinding(text)``
in every document, whose calls arrive as ``Runtime.bindingCalled`` events. The bootstrap (injected at
document creation in the main frame) hides that raw function behind the same frozen
``window.__roomagent.post(obj)`` that the QtWebEngine bridge offers, so adapter scripts run unchanged.
"""

from __future__ import annotations

BINDING_NAME = "__roomagentBinding"
TITLE_BINDING = "__roomagentTitle"

# Same contract as roomagent.ui.bridge.BOOTSTRAP_JS: post() takes a JSON-able object; the API object
# is frozen and non-configurable so the meeting page cannot swap it. The raw binding is removed from
# window (best effort: a later document gets a fresh one) so page code meets only the one API.
BOOTSTRAP_JS = r"""
(() => {
  if (window.__roomagent) { return; }
  // The binding may appear a moment after this script runs in a new document; until then messages
  // are queued (as the QtWebEngine bridge does before its channel is up), never dropped.
  const queue = [];
  let raw = null;
  const grab = () => {
    if (!raw && typeof window.%(binding)s === "function") {
      raw = window.%(binding)s;
      try { delete window.%(binding)s; } catch (e) { /* not configurable: harmless */ }
      queue.splice(0).forEach((text) => raw(text));
    }
    return raw;
  };
  const post = (msg) => {
    let text;
    try { text = JSON.stringify(msg); } catch (e) { return; }  // not JSON-able
    if (grab()) { raw(text); } else if (queue.length < 256) { queue.push(text); }
  };
  Object.defineProperty(window, "__roomagent", { value: Object.freeze({ post }), writable: false, configurable: false });
  let tries = 0;
  const retry = () => { if (!grab() && tries++ < 200) { setTimeout(retry, 25); } };
  retry();
})();
""".replace("%(binding)s", BINDING_NAME)


# The protocol reports a page's title only when a navigation commits, not when a script sets it; the
# session's ``title`` follows document.title through this (parsed titles at DOMContentLoaded and load,
# scripted ones as they are set). No observer on the DOM: a meeting client re-renders all the time.
TITLE_JS = r"""
(() => {
  // As with the bridge, the binding may appear a moment after this script runs in a new document: the
  // title is then reported as soon as it does (a title set meanwhile is not lost).
  let send = null;
  let last = null;
  const grab = () => {
    if (!send && typeof window.%(binding)s === "function") {
      send = window.%(binding)s;
      try { delete window.%(binding)s; } catch (e) { /* not configurable: harmless */ }
    }
    return send;
  };
  const report = () => {
    const now = document.title;
    if (now !== last && grab()) { last = now; send(now.slice(0, 1000)); }
  };
  const own = Object.getOwnPropertyDescriptor(Document.prototype, "title");
  Object.defineProperty(document, "title", {
    configurable: true,
    get() { return own.get.call(this); },
    set(value) { own.set.call(this, value); report(); },
  });
  document.addEventListener("DOMContentLoaded", report);
  window.addEventListener("load", report);
  let tries = 0;
  const retry = () => { if (grab()) { report(); } else if (tries++ < 200) { setTimeout(retry, 25); } };
  retry();
})();
""".replace("%(binding)s", TITLE_BINDING)


def main_frame_only(source: str) -> str:
    """``source`` guarded so it runs in the top-level document only.

    ``Page.addScriptToEvaluateOnNewDocument`` runs in every frame of the page; QtWebEngine's scripts
    (``setRunsOnSubFrames(False)``) run in the main frame only, and sub-frames may hold foreign content
    that must not see our hooks. A block keeps ``var`` and function declarations global as before;
    only top-level ``let``/``const``/``class`` become block-scoped (adapter scripts are IIFEs anyway).
    """
    return "if (window === window.top) {\n" + source + "\n}\n"


#: The screen window's notice banner, mirrored into the page (a Chromium window covers the Qt window
#: that draws the banner): a fixed strip above everything the page draws, which takes no clicks.
#: Called with the text as a JSON string; an empty text removes the strip.
NOTICE_JS = r"""
((text) => {
  const id = "__roomagent_notice";
  let strip = document.getElementById(id);
  if (!text) { if (strip) { strip.remove(); } return true; }
  if (!strip) {
    strip = document.createElement("div");
    strip.id = id;
    strip.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;padding:18px 24px;" +
      "background:rgba(10,16,28,0.88);color:#fff;font:600 28px sans-serif;text-align:center;" +
      "pointer-events:none;white-space:pre-wrap";
    (document.body || document.documentElement).appendChild(strip);
  }
  strip.textContent = text;
  return true;
})(%s)
"""
