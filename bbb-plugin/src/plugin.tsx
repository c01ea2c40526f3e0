/** The plugin's root component: SDK hooks, the "+" item, the floating window and the room poller. */
import { useEffect, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import {
  ActionButtonDropdownOption,
  ActionButtonDropdownSeparator,
  BbbPluginSdk,
  FloatingWindow,
  NotificationTypeUiCommand,
} from 'bigbluebutton-html-plugin-sdk';
import type { PluginApi } from 'bigbluebutton-html-plugin-sdk';
import { InviteClient } from './api';
import { bundledMessages, makeTranslate } from './i18n';
import { Store, useStore } from './store';
import type { PluginState, PluginStore } from './store';
import { installStyles } from './styles';
import { muteTeacher } from './teacher';
import { PluginWindow } from './window';

/** Where the invite service lives when ``bbb-html5.yml`` gives no ``inviteServiceUrl``: behind the BBB
 * host's own nginx, same origin as the client (so the session cookie can reach it). */
export const DEFAULT_SERVICE_URL = '/roomagent-invite';
/** ``GET /room`` while a dialog is open or a room is expected: a layout switch shows within 2 s. */
export const POLL_ACTIVE_MS = 2000;
/** ``GET /room`` otherwise, so a room invited by another moderator still shows up. */
export const POLL_IDLE_MS = 10000;
/** Our floating window's id as we ask for it; newer clients overwrite it with the item's index
 * (generateItemWithId), so nothing may look it up in the page. */
const WINDOW_ID = 'roomagent-window';

/** What must survive a reload of the client page (same BBB session only): this user's invites and
 * those whose joining already muted them. */
const INVITES_KEY = 'roomagent-invites';
const MUTED_KEY = 'roomagent-muted';
const KEPT = 20;

function loadList(key: string, sessionToken: string | undefined): string[] {
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(`${key}-${sessionToken ?? ''}`) ?? '[]');
    return Array.isArray(saved) ? saved.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

function saveList(key: string, sessionToken: string | undefined, values: string[]): void {
  try {
    window.sessionStorage.setItem(`${key}-${sessionToken ?? ''}`, JSON.stringify(values.slice(-KEPT)));
  } catch {
    // Storage refused (private mode, quota): the lists then last until the page reloads.
  }
}

function isBusy(state: PluginState): boolean {
  return state.inviteOpen || state.controlOpen || state.rooms.some((room) => room.status === 'waiting');
}

/** Starts polling ``GET /room``; returns the stop function. */
function startPolling(store: PluginStore): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    clearTimeout(timer);
    try {
      const rooms = await store.get().client.rooms();
      if (!stopped) store.set({ rooms, roomsError: null });
    } catch (error) {
      if (!stopped) store.set({ roomsError: error });
    }
    if (!stopped) timer = setTimeout(tick, isBusy(store.get()) ? POLL_ACTIVE_MS : POLL_IDLE_MS);
  };
  store.set({ refresh: () => { if (!stopped) tick(); } });
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

interface Props {
  uuid: string;
  pluginName: string;
}

export function RoomagentPlugin({ uuid, pluginName }: Props): null {
  BbbPluginSdk.initialize(uuid);
  const pluginApi: PluginApi = BbbPluginSdk.getPluginApi(uuid, pluginName);
  const currentUser = pluginApi.useCurrentUser?.();
  const settings = pluginApi.usePluginSettings?.();
  const locale = pluginApi.useLocaleMessages?.();

  const isModerator = currentUser?.data?.role === 'MODERATOR';
  const configured = (settings?.data as Record<string, unknown> | undefined)?.inviteServiceUrl;
  const baseUrl = typeof configured === 'string' && configured ? configured : DEFAULT_SERVICE_URL;
  const sessionToken = pluginApi.getSessionToken?.();

  const store = useMemo(() => new Store<PluginState>({
    client: new InviteClient(baseUrl, sessionToken),
    messages: {},
    inviteOpen: false,
    controlOpen: false,
    rooms: [],
    roomsError: null,
    myInvites: loadList(INVITES_KEY, sessionToken),
    mutedFor: loadList(MUTED_KEY, sessionToken),
    seenJoined: [],
    notice: null,
    refresh: () => {},
  }), []);
  const state = useStore(store);
  const t = makeTranslate(state.messages);

  useEffect(() => installStyles(), []);
  useEffect(() => saveList(INVITES_KEY, sessionToken, state.myInvites), [state.myInvites]);
  useEffect(() => saveList(MUTED_KEY, sessionToken, state.mutedFor), [state.mutedFor]);
  // The SDK fetches <localesBaseUrl>/<locale>.json only where the client passed localesBaseUrl (not the
  // oldest 3.0 client): the bundled texts of the client's locale stand in, the fetched ones override them.
  useEffect(() => store.set({ messages: { ...bundledMessages(locale?.currentLocale), ...(locale?.messages ?? {}) } }),
    [locale?.messages, locale?.currentLocale]);
  useEffect(() => store.set({ client: new InviteClient(baseUrl, sessionToken) }), [baseUrl, sessionToken]);
  useEffect(() => (isModerator ? startPolling(store) : undefined), [isModerator, state.client]);

  const joined = state.rooms.filter((room) => room.status === 'joined');

  // A room that joins opens the control once, and mutes the teacher whose invite it was, once per invite
  // (remembered over a reload of the page, so a reload after the join does not mute again).
  useEffect(() => {
    const fresh = joined.filter((room) => !state.seenJoined.includes(room.invite));
    if (fresh.length === 0) return;
    const toMute = fresh.map((room) => room.invite)
      .filter((invite) => state.myInvites.includes(invite) && !state.mutedFor.includes(invite));
    // Marked at once, so a re-render while the client confirms the mute does not click a second time.
    store.set((current) => ({
      seenJoined: [...current.seenJoined, ...fresh.map((room) => room.invite)],
      mutedFor: [...current.mutedFor, ...toMute],
      controlOpen: true,
    }));
    if (toMute.length === 0) return;
    muteTeacher().then((notice) => {
      store.set({ notice });
      pluginApi.uiCommands?.notification.send({
        message: makeTranslate(store.get().messages)(notice),
        icon: 'mute',
        type: notice === 'teacher.notMuted' ? NotificationTypeUiCommand.WARNING : NotificationTypeUiCommand.INFO,
      });
    });
  }, [joined.map((room) => room.invite).join(' ')]);

  const hasJoined = joined.length > 0;
  useEffect(() => {
    if (!isModerator) {
      pluginApi.setActionButtonDropdownItems([]);
      return;
    }
    const items = [
      new ActionButtonDropdownSeparator(),
      new ActionButtonDropdownOption({
        label: t('menu.invite'),
        icon: 'rooms',
        tooltip: t('invite.title'),
        dataTest: 'roomagentInviteItem',
        allowed: true,
        onClick: () => store.set({ inviteOpen: true }),
      }),
    ];
    if (hasJoined) {
      items.push(new ActionButtonDropdownOption({
        label: t('menu.control'),
        icon: 'settings',
        tooltip: t('control.title'),
        dataTest: 'roomagentControlItem',
        allowed: true,
        onClick: () => store.set({ controlOpen: true }),
      }));
    }
    pluginApi.setActionButtonDropdownItems(items);
  }, [isModerator, hasJoined, state.messages]);

  // One floating window holds both panels, so the host never has to match windows by index.
  const windowOpen = isModerator && (state.inviteOpen || (state.controlOpen && state.seenJoined.length > 0));
  useEffect(() => {
    if (!windowOpen) {
      pluginApi.setFloatingWindows([]);
      return;
    }
    pluginApi.setFloatingWindows([new FloatingWindow({
      id: WINDOW_ID,
      top: 70,
      left: 70,
      movable: true,
      backgroundColor: '#ffffff',
      boxShadow: '0 4px 18px rgba(0, 0, 0, 0.35)',
      contentFunction: (element: HTMLElement) => {
        const root = createRoot(element);
        root.render(<PluginWindow store={store} />);
        return root;
      },
    })]);
  }, [windowOpen]);

  return null;
}
