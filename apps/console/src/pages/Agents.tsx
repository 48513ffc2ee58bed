/**
 * The agents table: label-selector search, status filters and the sort order
 * (kept in the URL), sortable column headers, server-side sorting and keyset
 * paging with the API's page tokens (a token continues its own order), live
 * refresh of the page on screen, each agent's credential state and when its
 * certificate ends (columns and filters).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { filterFromSearch, filterToSearch, isFiltered, listAgentsQuery, nextSort, PAGE_SIZES, shortStatus, type AgentFilter, type AgentSort, type AgentSortKey } from '../lib/agent-query';
import { agentDisplayName, agentInstanceId, formatCount, relativeTime, shortUid } from '../lib/format';
import { REMOTE_CONFIG_STATUSES, type Agent, type ListAgentsResponse, type RemoteConfigStatus } from '../lib/types';
import { CREDENTIAL_STATES, credentialView, type CredentialState } from '../lib/agent-credential';
import { CERTIFICATE_EXPIRY_FILTER_DAYS, certificateView } from '../lib/agent-certificate';
import { Link, navigate, useLocation } from '../router';
import { Badge, ConfigStatusBadge, ConnectionBadge, CredentialBadge, HealthBadge, SyncBadge } from '../components/badges';
import { AgentTabs } from '../components/AgentTabs';
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

const SORT_LABELS: Record<AgentSortKey, string> = {
  instance_uid: 'instance UID',
  service_name: 'service name',
  host_name: 'host name',
  last_seen: 'last seen',
  connected_since: 'connected since',
  health: 'health',
  config_status: 'config status',
};

/** A column header that sorts the table by `sortKey` (server-side), showing the direction when it is the current order. */
function SortButton({ sortKey, label, sort, onSort }: { sortKey: AgentSortKey; label: string; sort?: AgentSort; onSort: (key: AgentSortKey) => void }) {
  const active = sort?.key === sortKey || (!sort && sortKey === 'instance_uid');
  const direction = active ? (sort?.direction ?? 'asc') : undefined;
  return (
    <button
      type="button"
      className={`sort-button${active ? ' active' : ''}`}
      data-testid={`sort-${sortKey}`}
      data-direction={direction ?? ''}
      title={`Sort by ${SORT_LABELS[sortKey]}`}
      onClick={() => onSort(sortKey)}
    >
      {label}
      <span className="sort-indicator" aria-hidden="true">
        {direction === 'asc' ? '▲' : direction === 'desc' ? '▼' : '↕'}
      </span>
    </button>
  );
}

function ariaSort(sort: AgentSort | undefined, key: AgentSortKey): 'ascending' | 'descending' | undefined {
  const active = sort ? sort.key === key : key === 'instance_uid';
  if (!active) return undefined;
  return (sort?.direction ?? 'asc') === 'asc' ? 'ascending' : 'descending';
}

export function Agents() {
  const api = useApi();
  const now = useNow();
  const { path, search } = useLocation();
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
  const onSort = (key: AgentSortKey) => setFilter({ sort: nextSort(filter.sort, key) });
  const sortProps = { sort: filter.sort, onSort };
  const toggleStatus = (s: RemoteConfigStatus) => setFilter({ statuses: filter.statuses.includes(s) ? filter.statuses.filter((x) => x !== s) : [...filter.statuses, s] });
  const credentialStates = filter.credentialStates ?? [];
  const toggleCredential = (s: CredentialState) =>
    setFilter({ credentialStates: credentialStates.includes(s) ? credentialStates.filter((x) => x !== s) : [...credentialStates, s] });

  // Rows of an earlier query never stand under the error of this one (a bad selector).
  const agents = list.error && !list.current ? [] : (list.data?.agents ?? []);
  // A fleet without client certificates gets no empty column (the table must fit 1024 px).
  const showCertificates = filter.certificateExpiresWithinDays !== undefined || agents.some((a) => (a.certificate?.state ?? 'NONE') !== 'NONE');
  const first = page * pageSize + 1;

  return (
    <div>
      <PageHeader title="Agents" subtitle={<LiveIndicator updatedAt={list.updatedAt} now={now} error={list.error} />} actions={<AgentTabs path={path} />} />
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
            <div className="segmented" role="group" aria-label="Credential state" data-testid="filter-credential">
              <span className="segmented-label">Credential</span>
              {CREDENTIAL_STATES.map((s) => (
                <button type="button" key={s} data-state={s} className={credentialStates.includes(s) ? 'active' : ''} title={credentialView({ kind: '', state: s, retireTime: '' }).title} onClick={() => toggleCredential(s)}>
                  {s.toLowerCase()}
                </button>
              ))}
            </div>
            <div className="segmented" role="group" aria-label="Certificate expiry" data-testid="filter-certificate-expiry">
              <span className="segmented-label">Certificate</span>
              <button
                type="button"
                className={filter.certificateExpiresWithinDays ? 'active' : ''}
                title={`Agents whose certificate ends within ${CERTIFICATE_EXPIRY_FILTER_DAYS} days, expired ones included`}
                onClick={() => setFilter({ certificateExpiresWithinDays: filter.certificateExpiresWithinDays ? undefined : CERTIFICATE_EXPIRY_FILTER_DAYS })}
              >
                expires within {CERTIFICATE_EXPIRY_FILTER_DAYS} days
              </button>
            </div>
          </div>
        </form>
        <ErrorBox error={list.error} title="Could not list agents" />
        <table className="table table-hover agents-table" data-testid="agents-table">
          <thead>
            <tr>
              <th aria-sort={ariaSort(filter.sort, 'service_name') ?? ariaSort(filter.sort, 'host_name') ?? ariaSort(filter.sort, 'instance_uid')}>
                <SortButton sortKey="service_name" label="Agent" {...sortProps} />
                <SortButton sortKey="host_name" label="Host" {...sortProps} />
                <SortButton sortKey="instance_uid" label="UID" {...sortProps} />
              </th>
              <th className="col-labels">Labels</th>
              <th aria-sort={ariaSort(filter.sort, 'connected_since')}>
                <SortButton sortKey="connected_since" label="Connection" {...sortProps} />
              </th>
              <th aria-sort={ariaSort(filter.sort, 'health')}>
                <SortButton sortKey="health" label="Health" {...sortProps} />
              </th>
              <th>Configuration</th>
              <th aria-sort={ariaSort(filter.sort, 'config_status')}>
                <SortButton sortKey="config_status" label="Config status" {...sortProps} />
              </th>
              <th>Sync</th>
              <th>Credential</th>
              {showCertificates && (
                <th data-testid="col-certificate" title="When the agent's client certificate ends">
                  Cert. ends
                </th>
              )}
              <th aria-sort={ariaSort(filter.sort, 'last_seen')}>
                <SortButton sortKey="last_seen" label="Last seen" {...sortProps} />
              </th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => {
              const labels = Object.entries(a.labels).filter(([k]) => k !== 'service.name' && k !== 'host.name' && k !== 'service.instance.id');
              const id = agentInstanceId(a);
              return (
                <tr key={a.instanceUid} data-testid="agent-row" data-uid={a.instanceUid} onClick={() => navigate(`/agents/${a.instanceUid}`)} className="clickable">
                  <td>
                    <Link to={`/agents/${a.instanceUid}`} onClick={(e) => e.stopPropagation()}>
                      {agentDisplayName(a.labels) || shortUid(a.instanceUid)}
                    </Link>
                    {/* Identical Collectors share a name: the instance id (or UID) tells them apart. */}
                    <div className="mono muted small agent-id" data-testid="agent-id" title={`instance UID ${a.instanceUid}`}>
                      {id.key === 'uid' ? a.instanceUid : `${id.value}`}
                    </div>
                  </td>
                  <td className="labels-cell col-labels">
                    <div className="chips">
                      {labels.slice(0, 3).map(([k, v]) => (
                        <span className="chip" key={k}>
                          {k}={v}
                        </span>
                      ))}
                      {labels.length > 3 && (
                        <span className="chip chip-more" title={labels.slice(3).map(([k, v]) => `${k}=${v}`).join('\n')}>
                          +{labels.length - 3}
                        </span>
                      )}
                    </div>
                  </td>
                  <td>
                    <ConnectionBadge agent={a} />
                  </td>
                  <td>
                    <HealthBadge health={a.health} lastKnown={a.lastKnownHealth} />
                  </td>
                  <td>{a.configurationName ? `${a.configurationName} v${a.configurationVersion}` : <span className="muted">unmanaged</span>}</td>
                  <td>
                    <ConfigStatusBadge status={a.remoteConfigStatus} error={a.remoteConfigError} />
                  </td>
                  <td>
                    <SyncBadge agent={a} />
                  </td>
                  <td data-testid="agent-credential" data-state={a.credential?.state ?? ''}>
                    <CredentialBadge agent={a} />
                  </td>
                  {showCertificates && <CertificateCell agent={a} now={now} />}
                  <td title={a.lastSeenTime}>{relativeTime(a.lastSeenTime, now)}</td>
                </tr>
              );
            })}
            {agents.length === 0 && !list.loading && (
              <tr>
                <td colSpan={showCertificates ? 10 : 9} className="empty">
                  {isFiltered(filter) ? 'No agent matches these filters.' : 'No agents yet. Agents appear here when they connect.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="pager">
          <span className="muted" data-testid="agents-range">
            {agents.length > 0 ? `${formatCount(first)}–${formatCount(first + agents.length - 1)}` : '0'}
            {list.data?.nextPageToken ? ' · more' : ''} · sorted by{' '}
            <span data-testid="agents-order">
              {SORT_LABELS[filter.sort?.key ?? 'instance_uid']} {filter.sort?.direction === 'desc' ? '(descending)' : '(ascending)'}
            </span>
            {filter.sort && filter.sort.key !== 'instance_uid' ? ', agents without a value last' : ''}
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

/** When the agent's client certificate ends (and whether a renewal waits for it). */
function CertificateCell({ agent, now }: { agent: Agent; now: number }) {
  const v = certificateView(agent.certificate, now, relativeTime);
  return (
    <td data-testid="agent-certificate" data-state={agent.certificate?.state ?? ''} data-not-after={agent.certificate?.notAfter ?? ''}>
      {v.tone === 'muted' ? <span className="muted">{v.text}</span> : <Badge tone={v.tone} title={v.title}>{v.text}</Badge>}
    </td>
  );
}
