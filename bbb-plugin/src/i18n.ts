/** Texts: the locale the SDK fetched (en/de) over the bundled copy of the client's locale, then English. */
import english from '../locales/en.json';
import german from '../locales/de.json';
import { InviteServiceError } from './api';
import type { ReplyError } from './types';

export type Messages = Record<string, string>;
export type Translate = (key: string, vars?: Record<string, string | number>) => string;

const FALLBACK: Messages = english;
/** Bundled too, because the oldest 3.0 client gives the SDK no localesBaseUrl to fetch them from. */
const BUNDLED: Record<string, Messages> = { en: english, de: german };

/** The bundled texts for ``locale`` (``de-DE`` → ``de``), or none. */
export function bundledMessages(locale: string | undefined): Messages {
  const language = (locale ?? '').split(/[-_]/)[0].toLowerCase();
  return BUNDLED[language] ?? {};
}

export function makeTranslate(messages: Messages): Translate {
  return (key, vars) => {
    let text = messages[key] ?? FALLBACK[key] ?? key;
    if (vars) {
      Object.entries(vars).forEach(([name, value]) => {
        text = text.split(`{${name}}`).join(String(value));
      });
    }
    return text;
  };
}

function known(key: string): boolean {
  return key in FALLBACK;
}

/** An invite-service failure in the user's words: the contract's codes in the user's language, else the
 * service's own sentence, else a generic sentence (never a bare status code). */
export function serviceErrorText(t: Translate, error: unknown): string {
  if (error instanceof InviteServiceError) {
    const key = `error.${error.code}`;
    if (known(key)) {
      return t(key, { message: error.message, seconds: error.retryAfter ?? 60 });
    }
    return error.message ? t('error.unknown', { message: error.message }) : t('error.generic');
  }
  return t('error.generic');
}

/** A room's refusal (reply ``status: "error"``) in the user's words. */
export function replyErrorText(t: Translate, error: ReplyError | null | undefined): string {
  if (!error) return t('error.unknown', { message: '?' });
  const key = `room.${error.code}`;
  return known(key) ? t(key, { message: error.message }) : error.message;
}

/** ``seconds`` as m:ss (or h:mm:ss), for the countdown. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
