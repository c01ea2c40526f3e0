// The fake BigBlueButton 3 client: just the surfaces roomagent's BBB adapter relies on (DESIGN.md §3.3)
// — the ui-command layout events, the data-test buttons, getDisplayMedia on the share button, the
// unload handlers and leaving the page when the meeting ends or the user is removed. Every reaction is
// reported to the server's log through /_fake/event.
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("fake-bbb-config").textContent);
  const token = cfg.token;
  const enc = encodeURIComponent;
  // The real client shows its "meeting has ended" modal for a moment before it leaves.
  const ENDED_REDIRECT_MS = 1500;
  // The real mute toggle flips only when the server confirmed the change (a round trip), not on click.
  const MUTE_CONFIRM_MS = 150;

  const JSON_HEADERS = {"Content-Type": "application/json"};
  let sending = Promise.resolve();
  function record(kind, extra) {
    const body = JSON.stringify(Object.assign({}, extra || {}, {kind: kind, token: token}));
    // One request after the other, so the log keeps the order in which things happened here.
    sending = sending
      .then(() => fetch("/_fake/event", {method: "POST", headers: JSON_HEADERS, body: body}))
      .catch(() => undefined);
    return sending;
  }

  function button(test, label) {
    const b = document.createElement("button");
    b.dataset.test = test;
    b.setAttribute("aria-label", label);
    b.textContent = label;
    return b;
  }

  function setupAudio(info, box) {
    const ud = info.userdata || {};
    let mic = ud.bbb_auto_join_audio === "true" && ud.bbb_listen_only_mode !== "true";
    // Fake-only knob (userdata-fake_audio_locked=true): the toggle rendered disabled, as BBB renders it
    // while audio is locked or a change is in flight (disabled={disabled || isAudioLocked}); a disabled
    // button ignores click(), so nothing happens.
    const locked = ud.fake_audio_locked === "true";
    // Fake-only knob (userdata-fake_mute_unconfirmed=true): the click goes out but the server never
    // confirms, so the toggle does not flip (e.g. the voice call is still being set up).
    const unconfirmed = ud.fake_mute_unconfirmed === "true";
    let muted = false;
    function draw() {
      // Re-created, not relabelled: like a React re-render, an old element reference goes stale.
      if (!mic) { box.replaceChildren(button("joinAudio", "Join audio")); return; }
      const b = muted ? button("unmuteMicButton", "Unmute") : button("muteMicButton", "Mute");
      if (locked) b.disabled = true;
      box.replaceChildren(b, button("leaveAudio", "Leave audio"));
    }
    function toggle(want) {
      if (unconfirmed) { record("mute_unconfirmed"); return; }
      // Logged when the toggle flips (the server's confirmation), so a test that saw the record sees the button.
      setTimeout(() => { muted = want; draw(); record(want ? "mute" : "unmute"); }, MUTE_CONFIRM_MS);
    }
    box.addEventListener("click", (ev) => {
      const test = ev.target.closest("button") && ev.target.closest("button").dataset.test;
      if (test === "muteMicButton") toggle(true);
      else if (test === "unmuteMicButton") toggle(false);
      else if (test === "joinAudio") { mic = true; muted = false; draw(); record("join_audio_clicked"); }
      else if (test === "leaveAudio") { mic = false; draw(); record("leave_audio"); }
    });
    draw();
    return function moderatorMute() {
      const applied = mic && !muted;
      if (applied) { muted = true; draw(); }
      record("muted_by_moderator", {applied: applied});
    };
  }

  function setupShare(box) {
    let track = null;
    function draw() {
      box.replaceChildren(
        track ? button("stopScreenShare", "Stop sharing") : button("startScreenShare", "Share screen"));
    }
    box.addEventListener("click", async (ev) => {
      const test = ev.target.closest("button") && ev.target.closest("button").dataset.test;
      if (test === "stopScreenShare" && track) {
        track.stop();
        track = null;
        draw();
        record("share_stopped", {reason: "button"});
      } else if (test === "startScreenShare" && !track) {
        try {
          const stream = await navigator.mediaDevices.getDisplayMedia({video: true});
          track = stream.getVideoTracks()[0];
          track.addEventListener("ended", () => {
            track = null;
            draw();
            record("share_stopped", {reason: "ended"});
          });
          draw();
          record("share_started", {label: track.label});
        } catch (e) {
          record("share_failed", {error: (e && e.name) || "Error", message: String((e && e.message) || e)});
        }
      }
    });
    draw();
  }

  function setupPollAndChat(main) {
    main.querySelectorAll('[data-test="pollAnswerOption"]').forEach((b) => {
      b.addEventListener("click", () => record("vote", {answer: b.textContent}));
    });
    const input = main.querySelector('[data-test="chatMessageInput"]');
    input.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" || !input.value) return;
      const p = document.createElement("p");
      p.textContent = input.value;
      main.querySelector('[data-test="chatMessages"]').append(p);
      record("chat", {text: input.value});
      input.value = "";
    });
  }

  function onBeforeUnload(ev) {
    // What BBB does so that a stray navigation asks before leaving the meeting.
    ev.preventDefault();
    ev.returnValue = "";
  }

  function leave(url, delayMs) {
    // The client's own exit must not ask "leave this page?".
    window.removeEventListener("beforeunload", onBeforeUnload);
    // Leave once the records so far are out: a navigation would cancel a request still in flight.
    setTimeout(() => sending.then(() => { location.href = url; }), delayMs);
  }

  function showEnded() {
    const modal = document.createElement("div");
    modal.dataset.test = "meetingEndedModal";
    const title = document.createElement("h1");
    title.dataset.test = "meetingEndedModalTitle";
    title.textContent = "The meeting has ended";
    modal.append(title);
    document.body.append(modal);
    document.title = "Meeting ended";
    record("ended_shown");
    leave(cfg.base + "/", ENDED_REDIRECT_MS);
  }

  function startStatusPoll(moderatorMute) {
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const status = await (await fetch("/_fake/status?sessionToken=" + enc(token))).json();
        if (status.kicked) {
          clearInterval(timer);
          record("removed_shown");
          leave(cfg.base + "/?reason=removed", 0);
        } else if (status.ended) {
          clearInterval(timer);
          showEnded();
        } else if (status.muted_by_moderator) {
          moderatorMute();
        }
      } catch (e) {
        // The next tick tries again; a server going away is what the adapter has to notice anyway.
      } finally {
        busy = false;
      }
    }, cfg.pollMs);
  }

  function notFound(info) {
    document.title = "Session not found";
    const h = document.createElement("h1");
    h.dataset.test = "sessionNotFound";
    h.textContent = "Session not found";
    const p = document.createElement("p");
    p.textContent = (info && info.message) || "";
    document.body.replaceChildren(h, p);
    record("not_found", {reason: (info && info.messageKey) || "unknown"});
  }

  function render(info) {
    const main = document.getElementById("client-template").content.firstElementChild.cloneNode(true);
    main.dataset.enforcedLayout = info.enforceLayout || "";
    main.dataset.session = info.sessionName || "";
    main.querySelector(".meeting").textContent = info.meetingID;
    main.querySelector(".user").textContent = info.fullname;
    main.querySelector(".session").textContent = info.sessionName || "";
    // Only the "Joining…" line goes: a plugin host's container elsewhere in the body stays.
    document.getElementById("loading").replaceWith(main);
    document.title = "BigBlueButton - " + info.meetingID;
    for (const name of cfg.layoutEvents) {
      window.addEventListener(name, (ev) => {
        const layout = ev.detail && ev.detail.layoutType;
        main.dataset.enforcedLayout = layout || "";
        record("layout", {event: name, layout: layout === undefined ? null : layout});
      });
    }
    const moderatorMute = setupAudio(info, main.querySelector("#audio"));
    setupShare(main.querySelector("#share"));
    setupPollAndChat(main);
    window.addEventListener("beforeunload", onBeforeUnload);
    window.addEventListener("pagehide", () => {
      // text/plain is a CORS-safelisted type, which sendBeacon accepts everywhere.
      const body = JSON.stringify({kind: "left", token: token});
      navigator.sendBeacon("/_fake/event", new Blob([body], {type: "text/plain"}));
    });
    record("ready", {layout: info.enforceLayout || "", userdata: info.userdata || {}});
    startStatusPoll(moderatorMute);
  }

  async function start() {
    let info;
    try {
      const reply = await fetch("/bigbluebutton/api/enter?sessionToken=" + enc(token), {credentials: "include"});
      info = (await reply.json()).response;
    } catch (e) {
      info = {returncode: "FAILED", messageKey: "networkError", message: String(e)};
    }
    if (info.returncode === "SUCCESS") render(info);
    else notFound(info);
  }

  start();
})();
