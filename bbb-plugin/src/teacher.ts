/** Muting the inviting teacher when the room joins (the seed's "prevent audio feedback loops").
 *
 * SDK 0.0.x has no command to mute the current user (its uiCommands cover layout, notifications,
 * chat, camera, away status, ...), so the plugin clicks the client's own mute button: the plugin runs
 * in the teacher's page, the same document, and BBB 3.0 marks the button ``data-test="muteMicButton"``
 * while the microphone is open (``unmuteMicButton`` while it is muted). The teacher can unmute as usual.
 *
 * What is reported is what the button shows afterwards, never the intention: BBB renders the button
 * ``disabled`` while audio is locked or a mute is in flight (a disabled button ignores ``click()``),
 * and the toggle flips only once the server confirmed the mute. So the plugin waits briefly for
 * ``unmuteMicButton`` and says "could not mute" when it does not come.
 */
import type { NoticeKey } from './store';

const MUTE = '[data-test="muteMicButton"]';
const UNMUTE = '[data-test="unmuteMicButton"]';
/** How long the client may take to confirm a mute (a round trip to the server; normally well under 1 s). */
export const MUTE_CONFIRM_MS = 4000;
const CHECK_EVERY_MS = 100;

function isMuted(doc: Document): boolean {
  return doc.querySelector(UNMUTE) !== null && doc.querySelector(MUTE) === null;
}

function isDisabled(button: HTMLElement): boolean {
  return (button as HTMLButtonElement).disabled === true || button.getAttribute('aria-disabled') === 'true';
}

/** Resolves true as soon as the microphone shows muted, false after ``timeoutMs``. */
function waitForMuted(doc: Document, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    const check = () => {
      if (isMuted(doc)) resolve(true);
      else if (Date.now() - started >= timeoutMs) resolve(false);
      else setTimeout(check, CHECK_EVERY_MS);
    };
    check();
  });
}

/** Mutes the teacher through the client's button; the notice says what really happened. */
export async function muteTeacher(doc: Document = document, timeoutMs = MUTE_CONFIRM_MS): Promise<NoticeKey> {
  const mute = doc.querySelector<HTMLElement>(MUTE);
  if (!mute) {
    return doc.querySelector(UNMUTE) ? 'teacher.alreadyMuted' : 'teacher.noAudio';
  }
  if (isDisabled(mute)) return 'teacher.notMuted';
  mute.click();
  return (await waitForMuted(doc, timeoutMs)) ? 'teacher.muted' : 'teacher.notMuted';
}
