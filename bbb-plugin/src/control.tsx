/** "Room control": the joined room's state and its commands, each showing the room's reply. */
import { useState } from 'react';
import { replyErrorText, serviceErrorText } from './i18n';
import type { Translate } from './i18n';
import type { PluginStore } from './store';
import { useStore } from './store';
import type { RoomCommand, RoomEntry, Source } from './types';

type Reply = { status: 'ok' | 'error' | 'pending'; text: string };

function signalOf(source: Source): 'picture' | 'no-picture' | 'not-connected' | 'unknown' {
  if (!source.present) return 'not-connected';
  if (source.signal === true) return 'picture';
  if (source.signal === false) return 'no-picture';
  return 'unknown';
}

const SIGNAL_KEYS = {
  picture: 'control.signal.picture',
  'no-picture': 'control.signal.noPicture',
  'not-connected': 'control.signal.notConnected',
  unknown: 'control.signal.unknown',
} as const;

function RoomPanel({ store, room, t }: { store: PluginStore; room: RoomEntry; t: Translate }): JSX.Element {
  const { client, refresh } = useStore(store);
  const [reply, setReply] = useState<Reply | null>(null);
  const [message, setMessage] = useState('');
  const [confirmRemove, setConfirmRemove] = useState(false);
  const state = room.state ?? {};
  const pending = reply?.status === 'pending';

  const send = async (command: RoomCommand) => {
    setReply({ status: 'pending', text: t('control.sending') });
    try {
      const answer = await client.command(room.invite, command);
      setReply(answer.status === 'ok'
        ? { status: 'ok', text: t('control.done') }
        : { status: 'error', text: replyErrorText(t, answer.error) });
    } catch (failure) {
      setReply({ status: 'error', text: serviceErrorText(t, failure) });
    } finally {
      refresh();
    }
  };

  const name = room.room?.name ?? room.server.name;
  const lifecycle = state.state ? t(`state.${state.state}`) : '?';
  const micText = state.muted === true ? t('control.micMuted')
    : state.muted === false ? t('control.micOpen') : t('control.micUnknown');

  return (
    <div className="ra-room" data-test="roomagentRoom" data-room={room.room?.id ?? ''}>
      <p><strong data-test="roomagentRoomName">{name}</strong> · {room.server.name}</p>
      <p className="ra-muted" data-test="roomagentRoomState" data-state={state.state ?? ''}>{t('control.state', { state: lifecycle })}</p>

      <div className="ra-section">
        <h3>{t('control.layouts')}</h3>
        {(state.layouts ?? []).map((layout) => {
          const current = layout === state.layout;
          return (
            <button type="button" key={layout} className={`ra-btn ra-light${current ? ' ra-current' : ''}`}
              data-test={`roomagentLayout-${layout}`} aria-pressed={current} data-current={current}
              title={current ? t('control.current') : undefined} disabled={pending}
              onClick={() => send({ action: 'set_layout', layout })}>
              {current ? `✓ ${layout}` : layout}
            </button>
          );
        })}
      </div>

      <div className="ra-section">
        <h3>{t('control.mic')}</h3>
        <div className="ra-row">
          <span data-test="roomagentMicState" data-muted={String(state.muted ?? 'unknown')}>{micText}</span>
          {state.muted !== true && (
            <button type="button" className="ra-btn" data-test="roomagentMute" disabled={pending}
              onClick={() => send({ action: 'mute' })}>{t('control.mute')}</button>
          )}
          {state.muted !== false && (
            <button type="button" className="ra-btn ra-light" data-test="roomagentUnmute" disabled={pending}
              onClick={() => send({ action: 'unmute' })}>{t('control.unmute')}</button>
          )}
        </div>
      </div>

      <div className="ra-section">
        <h3>{t('control.inputs')}</h3>
        {(state.sources ?? []).length === 0 && <p className="ra-muted">{t('control.noInputs')}</p>}
        {(state.sources ?? []).map((source) => {
          const signal = signalOf(source);
          const sharing = state.sharing === source.id;
          return (
            <div className="ra-input" key={source.id} data-test={`roomagentInput-${source.id}`}>
              <span>{source.label || source.name}</span>
              <span className="ra-signal" data-signal={signal} data-test={`roomagentSignal-${source.id}`}>
                {sharing ? t('control.sharing') : t(SIGNAL_KEYS[signal])}
              </span>
              <button type="button" className="ra-btn" data-test={`roomagentShare-${source.id}`} disabled={pending}
                onClick={() => send({ action: 'share_source', source: source.id })}>{t('control.share')}</button>
            </div>
          );
        })}
        {state.sharing && (
          <button type="button" className="ra-btn ra-light" data-test="roomagentStopShare" disabled={pending}
            onClick={() => send({ action: 'stop_share' })}>{t('control.stopShare')}</button>
        )}
      </div>

      <div className="ra-section">
        <h3>{t('control.message')}</h3>
        <form className="ra-row" onSubmit={(event) => {
          event.preventDefault();
          if (message.trim()) send({ action: 'show_message', text: message.trim() });
        }}>
          <input data-test="roomagentMessageText" maxLength={280} value={message}
            placeholder={t('control.messagePlaceholder')} aria-label={t('control.message')}
            onChange={(event) => setMessage(event.target.value)} />
          <button type="submit" className="ra-btn" data-test="roomagentMessageSend"
            disabled={pending || !message.trim()}>{t('control.send')}</button>
        </form>
      </div>

      <div className="ra-section">
        <button type="button" className="ra-btn ra-danger" data-test="roomagentRemoveRoom" disabled={pending}
          onClick={() => {
            if (!confirmRemove) { setConfirmRemove(true); return; }
            setConfirmRemove(false);
            send({ action: 'leave' });
          }}>{confirmRemove ? t('control.removeConfirm') : t('control.remove')}</button>
      </div>

      {reply && (
        <p className="ra-reply" data-test="roomagentReply" data-status={reply.status} role="status">{reply.text}</p>
      )}
    </div>
  );
}

export function ControlPanel({ store, t }: { store: PluginStore; t: Translate }): JSX.Element {
  const { rooms, roomsError, seenJoined } = useStore(store);
  const joined = rooms.filter((room) => room.status === 'joined');
  // Rooms that were in the meeting and are gone: say so instead of silently dropping their controls.
  const gone = rooms.filter((room) => room.status !== 'joined' && seenJoined.includes(room.invite));
  return (
    <section className="ra-panel" data-test="roomagentRoomControl">
      <div className="ra-head">
        <h2>{t('control.title')}</h2>
        <button type="button" className="ra-close" aria-label={t('common.close')} data-test="roomagentControlClose"
          onClick={() => store.set({ controlOpen: false })}>×</button>
      </div>
      {joined.map((room) => <RoomPanel key={room.invite} store={store} room={room} t={t} />)}
      {gone.map((room) => (
        <p className="ra-muted" key={room.invite} data-test="roomagentRoomLeft">
          {room.room?.name ?? room.server.name}: {t('control.left')}
        </p>
      ))}
      {roomsError != null && <p className="ra-error" data-test="roomagentError" role="alert">{serviceErrorText(t, roomsError)}</p>}
    </section>
  );
}
