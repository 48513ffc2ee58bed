/**
 * Tenant settings: how long disconnected agents are kept, and what agents'
 * credentials must be (require their own, scheduled rotation, how long an
 * old credential stays accepted). Saving sends only what changed.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { settingsForm, settingsUpdate, type SettingsForm } from '../lib/tenant-settings';
import type { TenantSettings as Settings } from '../lib/types';
import { Card, ErrorBox, PageHeader } from '../components/ui';

export function TenantSettings() {
  const api = useApi();
  const current = usePoll((s) => api.get<Settings>('/tenant-settings', undefined, s), 0, []);
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');

  useEffect(() => {
    if (current.data) setForm(settingsForm(current.data));
  }, [current.data]);

  let formError = '';
  let update: Partial<Settings> = {};
  if (form && current.data) {
    try {
      update = settingsUpdate(current.data, form);
    } catch (err) {
      formError = (err as Error).message;
    }
  }
  const set = (k: Exclude<keyof SettingsForm, 'requireAgentCredentials'>) => (e: { target: { value: string } }) => form && setForm({ ...form, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved('');
    try {
      await api.put<Settings>('/tenant-settings', update);
      setSaved(`Saved: ${Object.keys(update).join(', ')}.`);
      current.refresh();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div>
      <PageHeader title="Settings" subtitle="Of this tenant; every change is in the audit log." />
      <ErrorBox error={current.error} />
      {form && (
        <form onSubmit={submit}>
          <Card title="Agents">
            <div className="form-grid">
              <label className="field">
                <span>Keep disconnected agents (days, 0 = forever)</span>
                <input data-testid="settings-retention" inputMode="numeric" value={form.agentRetentionDays} onChange={set('agentRetentionDays')} />
              </label>
            </div>
          </Card>
          <Card title="Agent credentials">
            <div className="form-grid">
              <label className="check field-wide">
                <input
                  data-testid="settings-require-credentials"
                  type="checkbox"
                  checked={form.requireAgentCredentials}
                  onChange={(e) => setForm({ ...form, requireAgentCredentials: e.target.checked })}
                />{' '}
                require agents to hold a credential of their own (agents that cannot take one, without AcceptsOpAMPConnectionSettings, are refused)
              </label>
              <label className="field">
                <span>Rotate agents&apos; credentials every (days, 0 = only on demand)</span>
                <input data-testid="settings-lifetime" inputMode="numeric" value={form.agentCredentialLifetimeDays} onChange={set('agentCredentialLifetimeDays')} />
              </label>
              <label className="field">
                <span>Accept an old credential after a rotation for (hours)</span>
                <input data-testid="settings-grace" inputMode="numeric" value={form.credentialSwitchGraceHours} onChange={set('credentialSwitchGraceHours')} />
              </label>
            </div>
          </Card>
          {formError && (
            <small className="text-bad" data-testid="settings-form-error">
              {formError}
            </small>
          )}
          <ErrorBox error={error} title="Not saved" />
          {saved && (
            <p className="muted" data-testid="settings-saved">
              {saved}
            </p>
          )}
          <div className="button-row">
            <button className="btn btn-primary" type="submit" data-testid="save-settings" disabled={!!formError || Object.keys(update).length === 0}>
              Save
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
