/** The invite service's JSON shapes (INVITE_API.md), as the plugin reads them. */

export interface Server {
  id: string;
  name: string;
  url: string;
  default?: boolean;
  available?: boolean;
}

export interface ServerPage {
  servers: Server[];
  total: number;
  page: number;
  per_page: number;
}

export interface Invite {
  invite: string;
  code: string;
  expires: string;
  server: Server;
}

export interface Source {
  id: string;
  name: string;
  label?: string;
  present: boolean;
  signal?: boolean | null;
}

/** The part of the room's retained state snapshot the control shows. */
export interface RoomState {
  state?: string;
  layout?: string | null;
  layouts?: string[];
  muted?: boolean | null;
  sources?: Source[];
  sharing?: string | null;
}

export type RoomStatus = 'waiting' | 'joined' | 'left' | 'expired';

export interface RoomEntry {
  invite: string;
  code: string;
  expires: string;
  server: Server;
  status: RoomStatus;
  room: { id: string; name: string } | null;
  state: RoomState | null;
}

export interface ReplyError {
  code: string;
  message: string;
}

/** The room's reply to a command, passed through by the service. */
export interface RoomReply {
  id: string;
  status: 'ok' | 'error';
  data?: Record<string, unknown> | null;
  error?: ReplyError | null;
}

export type RoomCommand =
  | { action: 'set_layout'; layout: string }
  | { action: 'mute' }
  | { action: 'unmute' }
  | { action: 'share_source'; source: string }
  | { action: 'stop_share' }
  | { action: 'show_message'; text: string; seconds?: number }
  | { action: 'leave' }
  | { action: 'get_state' };
