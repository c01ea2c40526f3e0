/** The floating window's content: the Invite panel and/or the Room control panel. */
import { makeTranslate } from './i18n';
import { InvitePanel } from './invite';
import { ControlPanel } from './control';
import { useStore } from './store';
import type { PluginStore } from './store';

export function PluginWindow({ store }: { store: PluginStore }): JSX.Element {
  const state = useStore(store);
  const t = makeTranslate(state.messages);
  return (
    <div className="ra-window" data-test="roomagentWindow">
      {state.notice && (
        <div className="ra-panel">
          <p className="ra-notice" data-test="roomagentTeacherMuted" data-notice={state.notice}>{t(state.notice)}</p>
        </div>
      )}
      {state.inviteOpen && <InvitePanel store={store} t={t} />}
      {state.controlOpen && state.seenJoined.length > 0 && <ControlPanel store={store} t={t} />}
    </div>
  );
}
