// Injected at document creation into a BigBlueButton room session's page ONLY when the server dropped
// the screen's audio userdata (bbb_auto_join_audio, bbb_listen_only_mode, bbb_skip_check_audio,
// bbb_auto_share_webcam): bbb-web drops a VIEWER's getJoinUrl userdata on BBB without PR #22943, and the
// session then has whatever the room user's own join carried, or the server's defaults. So the page does
// the audio split itself: the media screen joins the microphone (and the camera if the room shares it),
// every other screen closes the audio dialog and leaves audio if the client joined it anyway.
// DOM-level and fragile: the BBB 3.0 client's data-test names (bigbluebutton-tests/playwright/core/elements.js).
(() => {
  if (!location.pathname.includes("/html5client") || window.__roomagentBBBAudio) { return; }
  const want = %(audio)s;  // {media: bool, camera: bool}
  window.__roomagentBBBAudio = want;
  // A click the client ignored (still loading, re-rendered) is tried again, but not before this long:
  // a dialog must get time to open or close before the same control is pressed again.
  const RETRY_MS = 2000;
  const last = new Map();
  const has = (selector) => !!document.querySelector(selector);
  const press = (selector) => {
    const el = document.querySelector(selector);
    const now = Date.now();
    if (!el || el.disabled || now - (last.get(selector) || 0) < RETRY_MS) { return false; }
    last.set(selector, now);
    el.click();
    return true;
  };
  const MIC = '[data-test="muteMicButton"], [data-test="unmuteMicButton"]';
  const LISTEN_ONLY = '[data-test="leaveListenOnly"]';
  const MODAL = '[data-test="audioModal"]';

  const media = () => {
    if (has(MIC)) {  // in audio with the microphone: now the camera, if the room shares one
      if (want.camera) { press('[data-test="startSharingWebcam"]') || press('[data-test="joinVideo"]'); }
      return;
    }
    if (has(LISTEN_ONLY)) { press(LISTEN_ONLY); return; }  // listening only: leave, then join with the mic
    press('[data-test="echoYesBtn"]') || press('[data-test="microphoneBtn"]')
      || (!has(MODAL) && press('[data-test="joinAudio"]'));
  };
  const other = () => {
    if (has(MODAL)) {
      press(`${MODAL} [data-test="closeModal"], button[aria-label="Close Join audio modal"]`);
      return;
    }
    if (has(LISTEN_ONLY)) { press(LISTEN_ONLY); return; }
    if (has(MIC)) {  // 3.0 puts "leave audio" in the audio dropdown; older clients show it as a button
      press('[data-test="leaveAudio"]') || press('[data-test="audioDropdownMenu"]');
    }
  };

  let scheduled = false;
  const step = () => {
    scheduled = false;
    if (want.media) { media(); } else { other(); }
  };
  const schedule = () => {
    if (!scheduled) { scheduled = true; requestAnimationFrame(step); }
  };
  const start = () => {
    new MutationObserver(schedule).observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-test", "disabled"] });
    // A press the client ignored leaves the page unchanged; look again once a retry is allowed.
    setInterval(schedule, RETRY_MS);
    schedule();
  };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
