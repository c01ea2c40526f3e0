/** "Invite room": pick the institution, create a code, show it with a live countdown. */
import { useEffect, useState } from 'react';
import { formatDuration, serviceErrorText } from './i18n';
import type { Translate } from './i18n';
import type { PluginStore } from './store';
import { useStore } from './store';
import type { Invite, Server, ServerPage } from './types';

const PER_PAGE = 5;
/** Typing in the search box queries the service once the user pauses. */
const SEARCH_DEBOUNCE_MS = 300;

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

function Countdown({ expires, t }: { expires: string; t: Translate }): JSX.Element {
  const now = useNow(1000);
  const left = (Date.parse(expires) - now) / 1000;
  if (!(left > 0)) {
    return <p className="ra-countdown ra-expired" data-test="roomagentCountdown" data-seconds="0">{t('invite.expired')}</p>;
  }
  return (
    <p className="ra-countdown" data-test="roomagentCountdown" data-seconds={Math.floor(left)}>
      {t('invite.expiresIn', { time: formatDuration(left) })}
    </p>
  );
}

function ServerList({ page, selected, onSelect, t }: {
  page: ServerPage; selected: Server | null; onSelect: (server: Server) => void; t: Translate;
}): JSX.Element {
  if (page.servers.length === 0) return <p className="ra-muted">{t('invite.none')}</p>;
  return (
    <ul className="ra-list" data-test="roomagentServerList">
      {page.servers.map((server) => {
        const off = server.available === false;
        return (
          <li key={server.id} className={off ? 'ra-off' : ''}>
            <label data-test={`roomagentServer-${server.id}`}>
              <input
                type="radio"
                name="roomagent-server"
                disabled={off}
                checked={selected?.id === server.id}
                onChange={() => onSelect(server)}
              />
              <span>{server.name}</span>
              {server.default && <span className="ra-tag">{t('invite.default')}</span>}
              {off && <span className="ra-muted">{t('invite.notAvailable')}</span>}
            </label>
          </li>
        );
      })}
    </ul>
  );
}

export function InvitePanel({ store, t }: { store: PluginStore; t: Translate }): JSX.Element {
  const { client, rooms } = useStore(store);
  const [search, setSearch] = useState('');
  const [pageNo, setPageNo] = useState(1);
  const [page, setPage] = useState<ServerPage | null>(null);
  const [selected, setSelected] = useState<Server | null>(null);
  const [invite, setInvite] = useState<Invite | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(async () => {
      try {
        const result = await client.servers(search.trim(), pageNo, PER_PAGE);
        if (cancelled) return;
        setPage(result);
        setError(null);
        // The default institution comes first (the service sorts so): preselect it, or the first usable.
        setSelected((current) => current
          ?? result.servers.find((server) => server.default && server.available !== false)
          ?? result.servers.find((server) => server.available !== false)
          ?? null);
      } catch (failure) {
        if (!cancelled) setError(serviceErrorText(t, failure));
      }
    }, search ? SEARCH_DEBOUNCE_MS : 0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [client, search, pageNo]);

  const create = async () => {
    if (!selected) return;
    setBusy(true);
    setError(null);
    try {
      const created = await client.createInvite(selected.id);
      setInvite(created);
      store.set((current) => ({ myInvites: [...current.myInvites, created.invite] }));
      store.get().refresh();
    } catch (failure) {
      setError(serviceErrorText(t, failure));
    } finally {
      setBusy(false);
    }
  };

  const pages = page ? Math.max(1, Math.ceil(page.total / (page.per_page || PER_PAGE))) : 1;
  const status = invite ? rooms.find((room) => room.invite === invite.invite) : undefined;

  return (
    <section className="ra-panel" data-test="roomagentInviteDialog">
      <div className="ra-head">
        <h2>{t('invite.title')}</h2>
        <button type="button" className="ra-close" aria-label={t('common.close')} data-test="roomagentInviteClose"
          onClick={() => store.set({ inviteOpen: false })}>×</button>
      </div>
      {!invite && (
        <>
          <p className="ra-muted">{t('invite.intro')}</p>
          <input
            className="ra-search"
            type="search"
            data-test="roomagentServerSearch"
            placeholder={t('invite.search')}
            aria-label={t('invite.search')}
            value={search}
            onChange={(event) => { setSearch(event.target.value); setPageNo(1); }}
          />
          {page ? <ServerList page={page} selected={selected} onSelect={setSelected} t={t} />
            : !error && <p className="ra-muted">{t('common.loading')}</p>}
          {page && pages > 1 && (
            <div className="ra-pager">
              <button type="button" className="ra-btn ra-light" data-test="roomagentPrevPage" disabled={pageNo <= 1}
                onClick={() => setPageNo(pageNo - 1)}>{t('invite.prev')}</button>
              <span data-test="roomagentPage">{t('invite.page', { page: pageNo, pages })}</span>
              <button type="button" className="ra-btn ra-light" data-test="roomagentNextPage" disabled={pageNo >= pages}
                onClick={() => setPageNo(pageNo + 1)}>{t('invite.next')}</button>
            </div>
          )}
          {selected && (
            <p className="ra-confirm" data-test="roomagentServerUrl" data-server={selected.id}>
              {t('invite.confirm', { url: selected.url })}
            </p>
          )}
          <button type="button" className="ra-btn" data-test="roomagentCreateCode" disabled={!selected || busy}
            onClick={create}>{busy ? t('invite.creating') : t('invite.create')}</button>
        </>
      )}
      {invite && (
        <>
          <p className="ra-muted">{t('invite.codeFor', { name: invite.server.name })}</p>
          <p className="ra-code" data-test="roomagentCode">{invite.code}</p>
          <Countdown expires={invite.expires} t={t} />
          <p className="ra-muted" data-test="roomagentInviteStatus" data-status={status?.status ?? 'waiting'}>
            {status?.status === 'joined'
              ? t('invite.status.joined', { room: status.room?.name ?? invite.server.name })
              : t('invite.status.waiting')}
          </p>
          <button type="button" className="ra-btn" data-test="roomagentNewCode" disabled={busy} onClick={create}>
            {busy ? t('invite.creating') : t('invite.newCode')}
          </button>
        </>
      )}
      {error && <p className="ra-error" data-test="roomagentError" role="alert">{error}</p>}
    </section>
  );
}
