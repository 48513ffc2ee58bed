/**
 * The agents table: label-selector search and status filters (kept in the
 * URL), server-side keyset paging with the API's page tokens, live refresh of
 * the page on screen. The API lists agents in one order (instance UID), so the
 * table offers no other sort.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { filterFromSearch, filterToSearch, isFiltered, listAgentsQuery, PAGE_SIZES, shortStatus, type AgentFilter } from '../lib/agent-query';
import { agentDisplayName, formatCount, relativeTime, shortHex } from '../lib/format';
import { REMOTE_CONFIG_STATUSES, type ListAgentsResponse, type RemoteConfigStatus } from '../lib/types';
import { Link, navigate, useLocation } from '../router';
import { ConfigStatusBadge, ConnectionBadge, HealthBadge, SyncBadge } from '../components/badges';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';

function TriState({ label, value, onChange, yes, no, testId }: { label: string; value?: boolean; onChange: (v?: boolean) => void; yes: string; no: string; testId: string }) {
  const opts: [string, boolean | undefined][] = [
    ['any', undefined],
    [yes, true],
    [no, false],
  ];
  return (
    <div className="segmented" role="group" aria-label={label} data-testid={testId}>
      <span className="segmented-label">{label}</span>
      {opts.map(([text, v]) => (
        <button type="button" key={text} className={value === v ? 'active' : ''} onClick={() => onChange(v)}>
          {text}
        </button>
      ))}
    </div>
  );
}

export function Agents() {
  const api = useApi();
  const now = useNow();
  const { search } = useLocation();
  const filter = filterFromSearch(search);
  const filterKey = filterToSearch(filter);
  const [selectorInput, setSelectorInput] = useState(filter.selector);
  const [pageSize, setPageSize] = useState(50);
  // Tokens of the pages visited so far: tokens[i] opens page i.
  const [tokens, setTokens] = useState<string[]>(['']);
  const page = tokens.length - 1;

  useEffect(() => {
    setSelectorInput(filter.selector);
    setTokens(['']);
  }, [filterKey]);

  const list = usePoll(
    (signal) => api.get<ListAgentsResponse>('/agents', listAgentsQuery(filter, pageSize, tokens[page]), signal),
    5000,
    [filterKey, pageSize, tokens[page]],
  );

  const setFilter = (next: Partial<AgentFilter>) => navigate(`/agents${filterToSearch({ ...filter, ...next })}`);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilter({ selector: selectorInput });
  };
  const toggleStatus = (s: RemoteConfigStatus) => setFilter({ statuses: filter.statuses.includes(s) ? filter.statuses.filter((x) => x !== s) : [...filter.statuses, s] });

  const agents = list.data?.agents ?? [];
  const first = page * pageSize + 1;

  return (
    <div>
      <PageHeader title="Agents" subtitle={<LiveIndicator updatedAt={list.updatedAt} now={now} error={list.error} />} />
      <Card>
        <form className="filters" onSubmit={submit}>
          <div className="search">
            <input
              data-testid="selector"
              value={selectorInput}
              onChange={(e) => setSelectorInput(e.target.value)}
              placeholder='Label selector, e.g.  env=prod,region in (eu,us),!canary'
              aria-label="Label selector"
            />
            <button className="btn btn-primary" type="submit" data-testid="apply-selector">
              Search
            </button>
            {isFiltered(filter) && (
              <button className="btn" type="button" onClick={() => navigate('/agents')}>
                Clear
              </button>
            )}
          </div>
          <div className="filter-row">
            <TriState testId="filter-connected" label="Connection" value={filter.connected} onChange={(v) => setFilter({ connected: v })} yes="connected" no="disconnected" />
            <TriState testId="filter-healthy" label="Health" value={filter.healthy} onChange={(v) => setFilter({ healthy: v })} yes="healthy" no="unhealthy" />
            <TriState testId="filter-sync" label="Sync" value={filter.inSync} onChange={(v) => setFilter({ inSync: v })} yes="in sync" no="out of sync" />
            <div className="segmented" role="group" aria-label="Config status" data-testid="filter-status">
              <span className="segmented-label">Config</span>
              {REMOTE_CONFIG_STATUSES.map((s) => (
                <button type="button" key={s} className={filter.statuses.includes(s) ? 'active' : ''} onClick={() => toggleStatus(s)}>
                  {shortStatus(s)}
                </button>
              ))}
            </div>
          </div>
        </form>
        <ErrorBox error={list.error} title="Could not list agents" />
        <table className="table table-hover" data-testid="agents-table">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Labels</th>
              <th>Connection</th>
              <th>Health</th>
              <th>Configuration</th>
              <th>Config status</th>
              <th>Sync</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => {
              const labels = Object.entries(a.labels).filter(([k]) => k !== 'service.name' && k !== 'host.name');
              return (
                <tr key={a.instanceUid} data-testid="agent-row" data-uid={a.instanceUid} onClick={() => navigate(`/agents/${a.instanceUid}`)} className="clickable">
                  <td>
                    <Link to={`/agents/${a.instanceUid}`} onClick={(e) => e.stopPropagation()}>
                      {agentDisplayName(a.labels) || shortHex(a.instanceUid)}
                    </Link>
                    <div className="mono muted small">{a.instanceUid}</div>
                  </td>
                  <td className="labels-cell">
                    <div className="chips">
                      {labels.slice(0, 4).map(([k, v]) => (
                        <span className="chip" key={k}>
                          {k}={v}
                        </span>
                      ))}
                      {labels.length > 4 && <span className="chip chip-more">+{labels.length - 4}</span>}
                    </div>
                  </td>
                  <td>
                    <ConnectionBadge agent={a} />
                  </td>
                  <td>
                    <HealthBadge health={a.health} />
                  </td>
                  <td>{a.configurationName ? `${a.configurationName} v${a.configurationVersion}` : <span className="muted">—</span>}</td>
                  <td>
                    <ConfigStatusBadge status={a.remoteConfigStatus} error={a.remoteConfigError} />
                  </td>
                  <td>
                    <SyncBadge agent={a} />
                  </td>
                  <td title={a.lastSeenTime}>{relativeTime(a.lastSeenTime, now)}</td>
                </tr>
              );
            })}
            {agents.length === 0 && !list.loading && (
              <tr>
                <td colSpan={8} className="empty">
                  {isFiltered(filter) ? 'No agent matches these filters.' : 'No agents yet. Agents appear here when they connect.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="pager">
          <span className="muted" data-testid="agents-range">
            {agents.length > 0 ? `${formatCount(first)}–${formatCount(first + agents.length - 1)}` : '0'}
            {list.data?.nextPageToken ? ' · more' : ''} · ordered by instance UID (the API's only order)
          </span>
          <span className="pager-controls">
            <label className="inline-field">
              <span>Per page</span>
              <select
                value={pageSize}
                onChange={(e) => {
                  setPageSize(Number(e.target.value));
                  setTokens(['']);
                }}
              >
                {PAGE_SIZES.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            </label>
            <button className="btn" disabled={page === 0} onClick={() => setTokens(tokens.slice(0, -1))} data-testid="prev-page">
              ← Previous
            </button>
            <span className="muted">page {page + 1}</span>
            <button className="btn" disabled={!list.data?.nextPageToken} onClick={() => list.data?.nextPageToken && setTokens([...tokens, list.data.nextPageToken])} data-testid="next-page">
              Next →
            </button>
          </span>
        </div>
      </Card>
    </div>
  );
}
