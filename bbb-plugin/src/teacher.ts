/** Muting the inviting teacher when the room joins (the seed's "prevent audio feedback loops").
 *
 * SDK 0.0.x has no command to mute the current user (its uiCommands cover layout, notifications,
 * chat, camera, away status, ...), so the plugin clicks the client's own mute button: the plugin runs
 * in the teacher's page, the same document, and BBB 3.0 marks the button ``data-test="muteMicButton"``
 * while the microphone is open (``unmuteMicButton`` while it is muted). The teacher can unmute as usual.
 */
import type { NoticeKey } from './store';

export function muteTeacher(doc: Document = document): NoticeKey {
  const mute = doc.querySelector<HTMLElement>('[data-test="muteMicButton"]');
  if (mute) {
    mute.click();
    return 'teacher.muted';
  }
  if (doc.querySelector('[data-test="unmuteMicButton"]')) return 'teacher.alreadyMuted';
  return 'teacher.noAudio';
}
