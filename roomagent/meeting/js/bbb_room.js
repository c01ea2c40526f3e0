// Injected at document creation into every page of a BigBlueButton room session (main world).
// DOM-level and therefore fragile: it watches the BBB 3 client's data-test attributes. Everything
// it learns goes to the agent with window.__roomagent.post(); the agent decides what it means.
(() => {
  if (!location.pathname.includes("/html5client") || window.__roomagentBBB) { return; }
  const post = (msg) => { if (window.__roomagent) { window.__roomagent.post(msg); } };

  // The client asks "leave the meeting?" on unload; an unattended projector must never be stuck on
  // that question, so window-level beforeunload handlers are not registered at all.
  const addListener = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, fn, opts) {
    if (this === window && type === "beforeunload") { return undefined; }
    return addListener.call(this, type, fn, opts);
  };
  try {
    Object.defineProperty(window, "onbeforeunload", { get: () => null, set: () => {}, configurable: false });
  } catch (e) { /* already locked by the page: the listener hook above still applies */ }

  const css = %(css)s;
  // The screen's layout when the server dropped its enforceLayout (a VIEWER's getJoinUrl parameters on
  // BBB without PR #22943), else null: then this page sends it with the ui-command once the client is up.
  let wantedLayout = %(layout)s;
  // The client mounts its ui-command handler with its layout; a handler mounted a little later (a slow
  // start, a lazy plugin area) would miss the first event, so it is sent once more after this long.
  const LAYOUT_RESEND_MS = 3000;
  const addStyle = () => {
    if (document.getElementById("roomagent-style")) { return; }
    const style = document.createElement("style");
    style.id = "roomagent-style";
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  };

  // Microphone state as the client shows it: true muted, false open, null no microphone at all.
  const micState = () => {
    if (document.querySelector('[data-test="unmuteMicButton"]')) { return true; }
    if (document.querySelector('[data-test="muteMicButton"]')) { return false; }
    return null;
  };
  const endState = () => {
    if (document.querySelector('[data-test="meetingEndedModal"], [data-test="meetingEndedModalTitle"]')) {
      const text = (document.body && document.body.innerText || "").toLowerCase();
      return { ended: true, kicked: /removed|ejected|entfernt/.test(text) };
    }
    return null;
  };

  // The plugin SDK's ui-command; early 3.0 clients only know the older name, so both are sent.
  const sendLayout = (layoutType) => {
    for (const name of ["SET_ENFORCED_LAYOUT", "CHANGE_ENFORCED_LAYOUT"]) {
      window.dispatchEvent(new CustomEvent(name, { detail: { layoutType } }));
    }
  };
  const clientUp = () => !!document.querySelector(
    '#layout, #ActionsBar, [data-test="joinAudio"], [data-test="muteMicButton"], [data-test="unmuteMicButton"]');
  let layoutSent = false;

  let lastMic;
  let endReported = false;
  const check = () => {
    if (wantedLayout && !layoutSent && clientUp()) {
      layoutSent = true;
      sendLayout(wantedLayout);
      setTimeout(() => { if (wantedLayout) { sendLayout(wantedLayout); } }, LAYOUT_RESEND_MS);
    }
    const mic = micState();
    if (mic !== lastMic) { lastMic = mic; post({ type: "bbb.mic", muted: mic }); }
    const end = endState();
    if (end && !endReported) { endReported = true; post({ type: "bbb.ended", kicked: end.kicked }); }
  };
  let scheduled = false;
  const schedule = () => {
    if (!scheduled) { scheduled = true; requestAnimationFrame(() => { scheduled = false; check(); }); }
  };
  const start = () => {
    addStyle();
    new MutationObserver(schedule).observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-test"] });
    check();
  };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }

  window.__roomagentBBB = Object.freeze({
    setLayout: (layoutType) => {
      if (wantedLayout) { wantedLayout = layoutType; }  // a later re-send must not undo the switch
      sendLayout(layoutType);
      return true;
    },
    micState,
  });
})();
