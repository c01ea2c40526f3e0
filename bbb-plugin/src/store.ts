/** One small store per plugin instance, shared by the plugin's main component and its floating window
 * (a separate React root, so React context does not reach it). */
import { useSyncExternalStore } from 'react';
import { InviteClient } from './api';
import type { Messages } from './i18n';
import type { RoomEntry } from './types';

export type NoticeKey = 'teacher.muted' | 'teacher.alreadyMuted' | 'teacher.noAudio' | 'teacher.notMuted';

export interface PluginState {
  client: InviteClient;
  messages: Messages;
  inviteOpen: boolean;
  controlOpen: boolean;
  rooms: RoomEntry[];
  roomsError: unknown;
  /** Invites this user created here: only their joining mutes this user's microphone. */
  myInvites: string[];
  /** This user's invites whose joining already muted them (kept over a reload: never muted twice). */
  mutedFor: string[];
  /** Invites seen joined (so a room that joins opens the control once, and mutes once). */
  seenJoined: string[];
  notice: NoticeKey | null;
  refresh: () => void;
}

type Listener = () => void;

export class Store<T> {
  private state: T;

  private readonly listeners = new Set<Listener>();

  constructor(initial: T) {
    this.state = initial;
  }

  get = (): T => this.state;

  set = (patch: Partial<T> | ((state: T) => Partial<T>)): void => {
    const changes = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...changes };
    this.listeners.forEach((listener) => listener());
  };

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };
}

export type PluginStore = Store<PluginState>;

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get);
}
