/**
 * The audit log, newest first. The server searches: by resource name
 * (exactly) and by text (every word in the actor, action, resource or
 * details, case-insensitive), so a search covers the whole log, not only the
 * pages loaded; "Load more" follows the page token of the same search.
 * Only the answer to the newest request is shown: a slower answer to an
 * earlier search (the unfiltered list before a preset was clicked) is dropped.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { relativeTime, shortHex } from '../lib/format';
import type { AuditEvent, ListAuditEventsResponse } from '../lib/types';
import { navigate, useLocation } from '../router';
import { Card, ErrorBox, PageHeader } from '../components/ui';

/** Searches an operator runs often: a text that every action of that area contains. */
const PRESETS: [string, string][] = [
  ['Packages', 'package'],
  ['Package rollouts', 'package_rollout'],
  ['Rollouts (both kinds)', 'rollout.'],
  ['Credentials', 'credential'],
];

export function Audit() {
  const api = useApi();
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const resource = params.get('resource') ?? '';
  const text = params.get('q') ?? '';
  const [resourceInput, setResourceInput] = useState(resource);
  const [textInput, setTextInput] = useState(text);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [reload, setReload] = useState(0);
  // The newest request, and the search the rows shown belong to.
  const latest = useRef(0);
  const shownSearch = useRef<string | null>(null);

  const load = async (token: string, append: boolean) => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const r = await api.get<ListAuditEventsResponse>('/audit-events', { resourceName: resource, query: text, pageSize: 200, pageToken: token });
      if (mine !== latest.current) return;
      setEvents((prev) => (append ? [...prev, ...r.events] : r.events));
      setNext(r.nextPageToken);
      setError(null);
    } catch (err) {
      if (mine === latest.current) setError(err);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  };

  useEffect(() => {
    setResourceInput(resource);
    setTextInput(text);
    // Another search: the rows of the last one are not its answer, so they go until it comes.
    const search = JSON.stringify([resource, text]);
    if (shownSearch.current !== search) {
      shownSearch.current = search;
      setEvents([]);
      setNext('');
    }
    void load('', false);
  }, [resource, text, reload]); // load reads resource and text

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (resourceInput.trim()) p.set('resource', resourceInput.trim());
    if (textInput.trim()) p.set('q', textInput.trim());
    navigate(`/audit${p.size ? `?${p}` : ''}`);
  };

  return (
    <div>
      <PageHeader title="Audit log" subtitle="Every change made through the API, newest first." />
      <Card>
        <form className="filters" onSubmit={apply}>
          <div className="search">
            <input data-testid="audit-search" value={textInput} onChange={(e) => setTextInput(e.target.value)} placeholder="Search actor, action, resource, details…" />
            <input className="narrow" data-testid="audit-resource" value={resourceInput} onChange={(e) => setResourceInput(e.target.value)} placeholder="Resource name (exact)" />
            <button className="btn btn-primary" type="submit">
              Search
            </button>
            <button className="btn" type="button" onClick={() => setReload((n) => n + 1)}>
              Refresh
            </button>
          </div>
        </form>
        <div className="chips" data-testid="audit-presets">
          {PRESETS.map(([label, q]) => (
            <button key={q} type="button" className={`btn btn-ghost ${text === q && !resource ? 'active' : ''}`} data-testid={`audit-preset-${q}`} onClick={() => navigate(`/audit?${new URLSearchParams({ q })}`)}>
              {label}
            </button>
          ))}
        </div>
        <ErrorBox error={error} />
        <table className="table" data-testid="audit-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Resource</th>
              <th>Change</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="audit-row">
                <td title={e.time}>{relativeTime(e.time)}</td>
                <td className="mono small">{e.actor}</td>
                <td>
                  <span className="chip">{e.action}</span>
                </td>
                <td>
                  <span className="muted small">{e.resourceType}</span> <span className="mono">{e.resourceName}</span>
                </td>
                <td className="mono small">
                  {e.beforeHash || e.afterHash ? `${shortHex(e.beforeHash)} → ${shortHex(e.afterHash)}` : ''}
                </td>
                <td className="mono small details">{e.detailsJson === '{}' ? '' : e.detailsJson}</td>
              </tr>
            ))}
            {events.length === 0 && !loading && (
              <tr>
                <td colSpan={6} className="empty">
                  {text || resource ? 'No event matches this search.' : 'No events.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="pager">
          <span className="muted" data-testid="audit-count">
            {events.length} {text || resource ? 'matching ' : ''}events loaded{next ? ', more on the server' : ''}
          </span>
          <button className="btn" disabled={!next || loading} onClick={() => void load(next, true)}>
            {loading ? 'Loading…' : next ? 'Load more' : 'No more events'}
          </button>
        </div>
      </Card>
    </div>
  );
}
