// A fake of Jitsi Meet's external_api.js: the documented JitsiMeetExternalAPI surface (constructor
// options, EventEmitter-style listeners, executeCommand/executeCommands, the is…() promises, dispose),
// simulated in the page instead of talking to a real conference in the iframe. Everything it does or
// emits is recorded on the server it was loaded from (/_fake/event); events a moderator or the server
// causes arrive by polling /_fake/pending.
(() => {
  "use strict";
  // The server this script came from; the iframe, the log and the event queue all live there.
  // (Inlined instead of loaded by URL, it can only assume the page's own origin.)
  const script = document.currentScript;
  const ORIGIN = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  // How soon a server-side event (kick, end, error) reaches the page: quick for tests, light on 2 cores.
  const POLL_MS = 250;
  const JSON_HEADERS = {"Content-Type": "application/json"};
  let frames = 0;

  function cssSize(value) {
    if (value === undefined || value === null || value === "") return "100%";
    return typeof value === "number" ? value + "px" : String(value);
  }

  function plain(value) {
    // What crosses to the log: JSON-able copies (functions and DOM nodes drop out).
    try {
      return value === undefined ? null : JSON.parse(JSON.stringify(value));
    } catch (e) {
      return String(value);
    }
  }

  function failure(name, message) {
    const e = new Error(message);
    e.name = name;
    return e;
  }

  class JitsiMeetExternalAPI {
    constructor(domain, options) {
      const o = Object.assign({}, options || {});
      this._room = o.roomName || "";
      this._client = Math.random().toString(16).slice(2, 10);
      this._config = Object.assign({}, o.configOverwrite || {});
      this._user = Object.assign({}, o.userInfo || {});
      this._listeners = new Map();
      this._sending = Promise.resolve();
      this._audioMuted = Boolean(this._config.startWithAudioMuted);
      this._videoMuted = Boolean(this._config.startWithVideoMuted);
      this._tileView = false;
      this._filmstrip = true;
      this._shareTrack = null;
      this._sharePending = false;
      this._disposed = false;

      const shown = Object.assign({}, o);
      delete shown.parentNode;
      delete shown.onload;
      this._record("init", {domain: domain, options: plain(shown)});

      const frame = document.createElement("iframe");
      frame.allow = "camera; microphone; display-capture; autoplay; clipboard-write";
      frame.name = frame.id = "jitsiConferenceFrame" + frames;
      let src = ORIGIN + "/" + encodeURI(this._room);
      if (o.jwt) src += "?jwt=" + encodeURIComponent(o.jwt);
      src += "#jitsi_meet_external_api_id=" + frames;
      frames += 1;
      frame.src = src;
      frame.style.width = cssSize(o.width);
      frame.style.height = cssSize(o.height);
      frame.style.border = "0";
      let joined = false;
      frame.addEventListener("load", () => {
        if (this._disposed || joined) return;
        joined = true;
        this._emit("videoConferenceJoined", {
          roomName: this._room, id: "local1", displayName: this._user.displayName || "",
          avatarURL: "", breakoutRoom: false,
        });
        if (typeof o.onload === "function") o.onload();
      });
      (o.parentNode || document.body).appendChild(frame);
      this._frame = frame;
      this._timer = setInterval(() => this._poll(), POLL_MS);
      this._polling = false;
    }

    // -- events (the EventEmitter names the handbook documents, plus the old aliases) ------------

    addListener(name, fn) {
      if (!this._listeners.has(name)) this._listeners.set(name, []);
      this._listeners.get(name).push(fn);
      return this;
    }
    on(name, fn) { return this.addListener(name, fn); }
    addEventListener(name, fn) { return this.addListener(name, fn); }
    once(name, fn) {
      const wrapped = (data) => { this.removeListener(name, wrapped); fn(data); };
      return this.addListener(name, wrapped);
    }
    removeListener(name, fn) {
      const list = this._listeners.get(name) || [];
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
      return this;
    }
    off(name, fn) { return this.removeListener(name, fn); }
    removeEventListener(name, fn) { return this.removeListener(name, fn); }
    removeAllListeners(name) {
      if (name === undefined) this._listeners.clear();
      else this._listeners.delete(name);
      return this;
    }

    // -- commands --------------------------------------------------------------------------------

    executeCommand(name, ...args) {
      if (this._disposed) return;
      this._record("command", {name: name, args: plain(args)});
      const run = COMMANDS[name];
      if (run) run.apply(this, args);
    }

    executeCommands(commands) {
      for (const [name, args] of Object.entries(commands || {})) {
        this.executeCommand(name, ...(Array.isArray(args) ? args : [args]));
      }
    }

    isAudioMuted() { return Promise.resolve(this._audioMuted); }
    isVideoMuted() { return Promise.resolve(this._videoMuted); }
    isTileView() { return Promise.resolve(this._tileView); }
    getIFrame() { return this._frame; }
    getRoomName() { return this._room; }

    dispose() {
      if (this._disposed) return;
      this._record("dispose");
      this._disposed = true;
      clearInterval(this._timer);
      if (this._shareTrack) this._shareTrack.stop();
      this._shareTrack = null;
      if (this._frame.parentNode) this._frame.parentNode.removeChild(this._frame);
      this._listeners.clear();
    }

    // -- internals -------------------------------------------------------------------------------

    _record(kind, extra) {
      const who = {kind: kind, room: this._room, client: this._client};
      const body = JSON.stringify(Object.assign({}, extra || {}, who));
      // One request after the other, so the log keeps the order in which things happened here (and
      // at most one keepalive request is in flight: Chromium caps their total size per page).
      this._sending = this._sending
        .then(() => fetch(ORIGIN + "/_fake/event", {method: "POST", keepalive: true, headers: JSON_HEADERS,
                                                    body: body}))
        .catch(() => undefined);
    }

    _emit(name, data) {
      if (this._disposed) return;
      this._record("event", {name: name, data: plain(data)});
      for (const fn of (this._listeners.get(name) || []).slice()) {
        try {
          fn(data);
        } catch (e) {
          console.error("listener for " + name + " failed:", e);
        }
      }
    }

    async _poll() {
      if (this._polling || this._disposed) return;
      this._polling = true;
      try {
        const url = ORIGIN + "/_fake/pending?room=" + encodeURIComponent(this._room) + "&client=" + this._client;
        const events = await (await fetch(url)).json();
        for (const ev of events) {
          // A remote mute changes what isAudioMuted() answers, as it does in the real client.
          if (ev.name === "audioMuteStatusChanged") this._audioMuted = Boolean(ev.data && ev.data.muted);
          this._emit(ev.name, ev.data);
        }
      } catch (e) {
        // The next tick tries again.
      } finally {
        this._polling = false;
      }
    }

    async _toggleShare() {
      if (this._sharePending) return;
      if (this._shareTrack) {
        this._shareTrack.stop();
        this._shareTrack = null;
        this._record("share_stopped");
        this._emit("screenSharingStatusChanged", {on: false, details: {}});
        return;
      }
      const wanted = this._config._desktopSharingSourceDevice;
      if (!wanted) {
        // No picker in a kiosk: without a configured capture device there is nothing to share.
        const message = "no _desktopSharingSourceDevice configured";
        this._record("share_failed", {error: "NoSourceDevice", message: message});
        return;
      }
      this._sharePending = true;
      try {
        const md = navigator.mediaDevices;
        let devices = await md.enumerateDevices();
        if (!devices.some((d) => d.kind === "videoinput" && d.label)) {
          // Chromium hides device labels until the page holds a camera grant; the real client has one.
          const probe = await md.getUserMedia({video: true});
          probe.getTracks().forEach((t) => t.stop());
          devices = await md.enumerateDevices();
        }
        const inputs = devices.filter((d) => d.kind === "videoinput");
        const device = inputs.find((d) => d.label === wanted) || inputs.find((d) => d.label.includes(wanted));
        if (!device) throw failure("NotFoundError", "no video input labelled " + wanted);
        const stream = await md.getUserMedia({video: {deviceId: {exact: device.deviceId}}});
        if (this._disposed) { stream.getTracks().forEach((t) => t.stop()); return; }
        this._shareTrack = stream.getVideoTracks()[0];
        this._record("share_started", {label: this._shareTrack.label, device: wanted});
        this._emit("screenSharingStatusChanged", {on: true, details: {sourceType: "device"}});
      } catch (e) {
        this._record("share_failed", {error: (e && e.name) || "Error", message: String((e && e.message) || e)});
      } finally {
        this._sharePending = false;
      }
    }
  }

  // What the simulated conference does for each command it knows; any other command is only recorded.
  const COMMANDS = {
    toggleAudio() {
      this._audioMuted = !this._audioMuted;
      this._emit("audioMuteStatusChanged", {muted: this._audioMuted});
    },
    toggleVideo() {
      this._videoMuted = !this._videoMuted;
      this._emit("videoMuteStatusChanged", {muted: this._videoMuted});
    },
    setTileView(enabled) {
      // Like the real client, the event reports a change: asking for the current state emits nothing.
      if (Boolean(enabled) === this._tileView) return;
      this._tileView = Boolean(enabled);
      this._emit("tileViewChanged", {enabled: this._tileView});
    },
    toggleTileView() {
      this._tileView = !this._tileView;
      this._emit("tileViewChanged", {enabled: this._tileView});
    },
    toggleFilmStrip() {
      this._filmstrip = !this._filmstrip;
      this._emit("filmstripDisplayChanged", {visible: this._filmstrip});
    },
    toggleShareScreen() {
      this._toggleShare();
    },
    hangup() {
      // Like the real client, the conference is left over the network first: the goodbye events come
      // once what this page had to say (its records) has gone out.
      this._sending.then(() => {
        this._emit("videoConferenceLeft", {roomName: this._room});
        this._emit("readyToClose", {});
      });
    },
  };

  window.JitsiMeetExternalAPI = JitsiMeetExternalAPI;
})();
