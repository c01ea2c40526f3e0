// Mute or unmute the room microphone in a BigBlueButton 3 client. There is no documented command for
// this: like the official BBB room prototype, it clicks the client's own mic button, found by its
// data-test attribute. This is the one place that knows those names; when BBB renames them, this
// returns {found: false} and the agent reports the failure instead of pretending.
// Evaluated as an expression with WANT (true = mute) substituted; the result is read back later.
((want) => {
  const muteButton = document.querySelector('[data-test="muteMicButton"]');
  const unmuteButton = document.querySelector('[data-test="unmuteMicButton"]');
  const before = unmuteButton ? true : (muteButton ? false : null);
  if (before === null) { return { found: false, before: null, clicked: false }; }
  if (before === want) { return { found: true, before, clicked: false }; }
  (want ? muteButton : unmuteButton).click();
  return { found: true, before, clicked: true };
})(WANT)
