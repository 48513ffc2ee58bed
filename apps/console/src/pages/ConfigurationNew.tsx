import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { checkResourceName } from '../lib/config-errors';
import type { ConfigFiles, ConfigFormat, Configuration } from '../lib/types';
import { navigate } from '../router';
import { ConfigEditor, type Validity } from '../components/ConfigEditor';
import { Card, ErrorBox, PageHeader } from '../components/ui';

export const STARTER = `receivers:
  otlp:
    protocols:
      grpc: {}
      http: {}
processors:
  batch: {}
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`;

export function ConfigurationNew() {
  const api = useApi();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [format, setFormat] = useState<ConfigFormat>('CONFIG_FORMAT_OTEL_COLLECTOR');
  const [files, setFiles] = useState<ConfigFiles>({ 'collector.yaml': { body: STARTER, contentType: 'text/yaml' } });
  const [validity, setValidity] = useState<Validity>({ state: 'checking', errors: [], contentHash: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const nameProblem = name ? checkResourceName(name) : '';

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const c = await api.post<Configuration>('/configurations', { name, description, format, files });
      navigate(`/configurations/${encodeURIComponent(c.name)}?tab=assignments`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <PageHeader title="New configuration" subtitle="Validated as you type; stored as version 1 when you save." />
      <form onSubmit={save}>
        <Card>
          <div className="form-grid">
            <label className="field">
              <span>Name</span>
              <input data-testid="config-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="collector-prod" required />
              {nameProblem && <small className="text-bad">{nameProblem}</small>}
            </label>
            <label className="field">
              <span>Format</span>
              <select value={format} onChange={(e) => setFormat(e.target.value as ConfigFormat)}>
                <option value="CONFIG_FORMAT_OTEL_COLLECTOR">OpenTelemetry Collector</option>
                <option value="CONFIG_FORMAT_GENERIC">Generic (YAML must parse)</option>
              </select>
            </label>
            <label className="field field-wide">
              <span>Description</span>
              <input value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What this configuration is for" />
            </label>
          </div>
          <p className="muted small">
            Templates: <code>{'${attr:region}'}</code> is replaced by each agent's attribute when the configuration is sent.
          </p>
          <ConfigEditor files={files} onChange={setFiles} format={format} onValidity={setValidity} />
          <ErrorBox error={error} title="Not saved" />
          <div className="button-row">
            <button className="btn btn-primary" type="submit" data-testid="save-configuration" disabled={busy || validity.state !== 'valid' || !name || !!nameProblem}>
              {busy ? 'Saving…' : 'Create configuration'}
            </button>
            {validity.state === 'invalid' && <span className="reason">Fix the validation errors to save.</span>}
          </div>
        </Card>
      </form>
    </div>
  );
}
