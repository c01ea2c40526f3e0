// Share a room input (an HDMI capture card, which Chromium sees as a camera) into a BigBlueButton 3
// meeting as *content*: the client's own screen-share button is clicked, and the page's
// getDisplayMedia is answered with getUserMedia of the chosen input. Content, not a camera, because
// every participant then sees the laptop's slides in the presentation area, full size; a camera
// would be one more small tile. DOM-level and fragile: the data-test names of the share buttons.
// Evaluated as an expression with LABEL (the input's expected camera label) substituted.
((want) => {
  const post = (msg) => { if (window.__roomagent) { window.__roomagent.post(msg); } };
  const norm = (s) => String(s || "").toLowerCase().replace(/\s+/g, " ").trim();
  const card = (s) => norm(s).replace(/\s*\([0-9a-f]{4}:[0-9a-f]{4}\)$/, "");
  const media = navigator.mediaDevices;
  if (!media) { return { ok: false, error: "this page has no media devices" }; }
  media.getDisplayMedia = async () => {
    let devices = await media.enumerateDevices();
    if (!devices.some((d) => d.kind === "videoinput" && d.label)) {
      // Labels stay empty until the page was granted a camera once; the media session may be.
      const probe = await media.getUserMedia({ video: true });
      probe.getTracks().forEach((t) => t.stop());
      devices = await media.enumerateDevices();
    }
    const inputs = devices.filter((d) => d.kind === "videoinput");
    const hit = inputs.find((d) => norm(d.label) === norm(want)) || inputs.find((d) => card(d.label) === card(want));
    if (!hit) {
      post({ type: "share.failed", error: "NotFoundError", message: `no camera called ${want}`, labels: inputs.map((d) => d.label) });
      throw new DOMException(`no camera called ${want}`, "NotFoundError");
    }
    try {
      const stream = await media.getUserMedia({ video: { deviceId: { exact: hit.deviceId } } });
      const track = stream.getVideoTracks()[0];
      track.addEventListener("ended", () => post({ type: "share.ended", label: track.label }));
      post({ type: "share.started", label: track.label });
      return stream;
    } catch (e) {
      post({ type: "share.failed", error: e.name, message: String(e.message) });
      throw e;
    }
  };
  const button = document.querySelector('[data-test="startScreenShare"]');
  if (!button) { return { ok: false, error: "the meeting client shows no screen-share button (the room may need to be presenter)" }; }
  button.click();
  return { ok: true };
})(LABEL)
