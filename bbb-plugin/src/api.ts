/** The plugin's only backend: the roomagent invite service (INVITE_API.md). */
import type { Invite, RoomCommand, RoomEntry, RoomReply, ServerPage } from './types';

/** The service said no (or could not be reached); ``code`` is the contract's error code. */
export class InviteServiceError extends Error {
  readonly code: string;

  readonly status: number;

  readonly retryAfter: number | null;

  constructor(code: string, message: string, status = 0, retryAfter: number | null = null) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Calls the invite service with the caller's BBB session token (and its cookies). */
export class InviteClient {
  private readonly baseUrl: string;

  private readonly sessionToken: string | undefined;

  constructor(baseUrl: string, sessionToken: string | undefined) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.sessionToken = sessionToken;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.sessionToken) {
      throw new InviteServiceError('no_token_setting', 'This page has no BigBlueButton session token.');
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'X-Session-Token': this.sessionToken,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        credentials: 'include',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new InviteServiceError('network', error instanceof Error ? error.message : '');
    }
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      // The service's own {error:{code,message}}; anything else (nginx's HTML 502 page, a proxy's text)
      // has no sentence for the user: the code says "unavailable" and the message stays empty.
      const detail = (data as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const code = typeof detail?.code === 'string' && detail.code ? detail.code : 'unavailable';
      const message = typeof detail?.message === 'string' ? detail.message : '';
      throw new InviteServiceError(
        code,
        message,
        response.status,
        retryAfterSeconds(response.headers.get('Retry-After')),
      );
    }
    if (data === null) throw new InviteServiceError('unavailable', '', response.status);
    return data as T;
  }

  servers(search: string, page: number, perPage: number): Promise<ServerPage> {
    const query = new URLSearchParams({ search, page: String(page), per_page: String(perPage) });
    return this.request('GET', `/servers?${query}`);
  }

  createInvite(serverId: string): Promise<Invite> {
    return this.request('POST', '/invites', { server_id: serverId });
  }

  async rooms(): Promise<RoomEntry[]> {
    const data = await this.request<{ rooms: RoomEntry[] }>('GET', '/room');
    return Array.isArray(data.rooms) ? data.rooms : [];
  }

  command(invite: string, command: RoomCommand): Promise<RoomReply> {
    return this.request('POST', '/room/commands', { invite, command });
  }
}
