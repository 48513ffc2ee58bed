/**
 * Agent tokens: the enrollment tokens agents connect with, with their state,
 * uses, expiry and the labels they give their agents; a form to create one
 * (the secret is shown once, right after) and revocation.
 */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { canRevoke, labelsText, tokenRequest, tokenStateView, usesText, type TokenForm } from '../lib/agent-token';
import { relativeTime } from '../lib/format';
import type { AgentToken, CreateAgentTokenResponse, ListAgentTokensResponse } from '../lib/types';
import { Badge } from '../components/badges';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';

function NewToken({ onCreated }: { onCreated: (r: CreateAgentTokenResponse) => void }) {
  const api = useApi();
  const [form, setForm] = useState<TokenForm>({ name: '', expiresAt: '', maxUses: '', labels: '' });
  const [error, setError] = useState<unknown>(null);
  let formError = '';
  let request: ReturnType<typeof tokenRequest> | null = null;
  try {
    request = tokenRequest(form);
  } catch (err) {
    formError = (err as Error).message;
  }
  const set = (k: keyof TokenForm) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!request) return;
    setError(null);
    try {
      onCreated(await api.post<CreateAgentTokenResponse>('/agent-tokens', request));
      setForm({ name: '', expiresAt: '', maxUses: '', labels: '' });
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title="New agent token">
      <form onSubmit={submit}>
        <div className="form-grid">
          <label className="field">
            <span>Name</span>
            <input data-testid="token-name" value={form.name} onChange={set('name')} placeholder="e.g. eu-daemonset" />
          </label>
          <label className="field">
            <span>Expires (empty: never)</span>
            <input data-testid="token-expires" type="datetime-local" value={form.expiresAt} onChange={set('expiresAt')} />
          </label>
          <label className="field">
            <span>Use limit: agents that may enroll (empty: none)</span>
            <input data-testid="token-max-uses" inputMode="numeric" value={form.maxUses} onChange={set('maxUses')} placeholder="no limit" />
          </label>
          <label className="field field-wide">
            <span>Labels its agents get (key=value, one per line; they win over the agent&apos;s own attribute of the same key)</span>
            <textarea data-testid="token-labels-input" className="mono" rows={3} value={form.labels} onChange={set('labels')} placeholder={'env=prod\nregion=eu'} />
          </label>
        </div>
        {formError && (
          <small className="text-bad" data-testid="token-form-error">
            {formError}
          </small>
        )}
        <ErrorBox error={error} title="Not created" />
        <div className="button-row">
          <button className="btn btn-primary" type="submit" data-testid="create-token" disabled={!request}>
            Create token
          </button>
        </div>
      </form>
    </Card>
  );
}

export function AgentTokens() {
  const api = useApi();
  const now = useNow();
  const list = usePoll((s) => api.get<ListAgentTokensResponse>('/agent-tokens', undefined, s), 5000, []);
  const [showNew, setShowNew] = useState(false);
  const [created, setCreated] = useState<CreateAgentTokenResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const rows = [...(list.data?.tokens ?? [])].reverse(); // newest first

  const revoke = async (t: AgentToken) => {
    if (!window.confirm(`Revoke the agent token "${t.name || t.id}"? Agents connected with it are disconnected and refused from now on.`)) return;
    setError(null);
    try {
      await api.delete(`/agent-tokens/${encodeURIComponent(t.id)}`);
      list.refresh();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div>
      <PageHeader
        title="Agent tokens"
        subtitle={<LiveIndicator updatedAt={list.updatedAt} now={now} error={list.error} />}
        actions={
          <button className="btn btn-primary" data-testid="new-token" onClick={() => setShowNew((s) => !s)}>
            {showNew ? 'Close' : 'New token'}
          </button>
        }
      />
      {showNew && (
        <NewToken
          onCreated={(r) => {
            setCreated(r);
            setShowNew(false);
            list.refresh();
          }}
        />
      )}
      {created && (
        <Card title={`Token "${created.token.name || created.token.id}" created`} actions={<button className="btn" onClick={() => setCreated(null)}>Done</button>}>
          <p>Copy it now: it is shown only this once (the server keeps only its hash).</p>
          <pre className="mono secret" data-testid="token-secret">
            {created.secret}
          </pre>
        </Card>
      )}
      <Card title="Tokens">
        <ErrorBox error={list.error ?? error} />
        <table className="table" data-testid="tokens-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th className="num">Agents enrolled</th>
              <th>Expires</th>
              <th>Labels</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => {
              const state = tokenStateView(t.state);
              return (
                <tr key={t.id} data-testid={`token-${t.id}`}>
                  <td>
                    {t.name || <span className="muted">(no name)</span>}
                    <div className="muted small mono">{t.id}</div>
                  </td>
                  <td>
                    <Badge tone={state.tone}>
                      <span data-testid="token-state">{state.text}</span>
                    </Badge>
                  </td>
                  <td className="num" data-testid="token-uses">
                    {usesText(t)}
                  </td>
                  <td title={t.expireTime} data-testid="token-expire">
                    {t.expireTime ? relativeTime(t.expireTime, now) : 'never'}
                  </td>
                  <td>
                    <div className="chips" data-testid="token-labels">
                      {labelsText(t.labels).map((l) => (
                        <span key={l} className="chip">
                          {l}
                        </span>
                      ))}
                    </div>
                  </td>
                  <td title={t.createTime}>
                    {relativeTime(t.createTime, now)}
                    <div className="muted small">{t.createdBy}</div>
                  </td>
                  <td>
                    {canRevoke(t) && (
                      <button className="btn btn-danger-outline" data-testid="revoke-token" onClick={() => void revoke(t)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
            {rows.length === 0 && !list.loading && (
              <tr>
                <td colSpan={7} className="empty">
                  No agent tokens yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
