/** Texts: the locale the SDK fetched (en/de), falling back to the bundled English. */
import english from '../locales/en.json';
import { InviteServiceError } from './api';
import type { ReplyError } from './types';

export type Messages = Record<string, string>;
export type Translate = (key: string, vars?: Record<string, string | number>) => string;

const FALLBACK: Messages = english;

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

/** An invite-service failure in the user's words (the contract's codes, else the service's sentence). */
export function serviceErrorText(t: Translate, error: unknown): string {
  if (error instanceof InviteServiceError) {
    const key = `error.${error.code}`;
    if (known(key)) {
      return t(key, { message: error.message, seconds: error.retryAfter ?? 60 });
    }
    return t('error.unknown', { message: error.message });
  }
  return t('error.unknown', { message: String(error) });
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
