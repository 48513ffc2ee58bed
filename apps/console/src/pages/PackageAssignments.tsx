/** Package assignments (which package versions a group runs), highest priority first: create, edit, delete, and where each one's agents stand. */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { usePoll } from '../hooks';
import { formatDesiredPackages, parseDesiredPackages } from '../lib/packages';
import { relativeTime } from '../lib/format';
import type { ListPackageAssignmentsResponse, PackageAssignment } from '../lib/types';
import { PackageAssignmentStatusCard } from '../components/PackageAssignmentStatus';
import { PackageTabs } from '../components/PackageTabs';
import { Card, ErrorBox, PageHeader } from '../components/ui';

/** Create (no `editing`) or change an assignment; the name is fixed once created. */
function AssignmentForm({ editing, onDone }: { editing: PackageAssignment | null; onDone: () => void }) {
  const api = useApi();
  const [name, setName] = useState(editing?.name ?? '');
  const [selector, setSelector] = useState(editing?.selector ?? '');
  const [priority, setPriority] = useState(editing?.priority ?? 0);
  const [packagesText, setPackagesText] = useState(editing ? formatDesiredPackages(editing.packages) : '');
  const [error, setError] = useState<unknown>(null);
  let packagesError = '';
  let packages: ReturnType<typeof parseDesiredPackages> = [];
  try {
    packages = parseDesiredPackages(packagesText);
  } catch (err) {
    packagesError = (err as Error).message;
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const body = { name: name.trim(), selector, priority, packages };
    try {
      if (editing) await api.put(`/package-assignments/${encodeURIComponent(editing.name)}`, body);
      else await api.post('/package-assignments', body);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title={editing ? `Edit ${editing.name}` : 'New package assignment'}>
      <form onSubmit={submit} data-testid="package-assignment-form">
        <div className="form-grid">
          <label className="field">
            <span>Name</span>
            <input data-testid="pa-name" value={name} disabled={!!editing} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            <span>Selector</span>
            <input data-testid="pa-selector" className="mono" value={selector} onChange={(e) => setSelector(e.target.value)} placeholder="env=prod,region in (eu,us)" />
          </label>
          <label className="field">
            <span>Priority (highest wins)</span>
            <input data-testid="pa-priority" type="number" value={priority} onChange={(e) => setPriority(Number(e.target.value))} />
          </label>
          <label className="field">
            <span>Package versions (name@version, …)</span>
            <input data-testid="pa-packages" className="mono" value={packagesText} onChange={(e) => setPackagesText(e.target.value)} placeholder="otelcol@1.1.0" />
            {packagesText && packagesError && <small className="text-bad">{packagesError}</small>}
          </label>
        </div>
        <ErrorBox error={error} title={editing ? 'Not changed' : 'Not created'} />
        <div className="button-row">
          <button className="btn btn-primary" type="submit" data-testid="pa-save" disabled={!!packagesError || !name.trim()}>
            {editing ? 'Save' : 'Create assignment'}
          </button>
          <button className="btn" type="button" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}

export function PackageAssignments() {
  const api = useApi();
  const list = usePoll((s) => api.get<ListPackageAssignmentsResponse>('/package-assignments', undefined, s), 5000, []);
  const [form, setForm] = useState<{ editing: PackageAssignment | null } | null>(null);
  const [error, setError] = useState('');
  const [shown, setShown] = useState<string | null>(null);
  const rows = list.data?.packageAssignments ?? [];
  const remove = async (a: PackageAssignment) => {
    if (!window.confirm(`Delete the package assignment ${a.name}? Its agents are offered nothing new (they keep what they run).`)) return;
    try {
      await api.delete(`/package-assignments/${encodeURIComponent(a.name)}`);
      setError('');
      list.refresh();
    } catch (err) {
      setError(`Delete failed: ${errorMessage(err)}`);
    }
  };
  return (
    <div>
      <PageHeader
        title="Package assignments"
        subtitle={<PackageTabs path="/package-assignments" />}
        actions={
          <button className="btn btn-primary" data-testid="new-package-assignment" onClick={() => setForm(form ? null : { editing: null })}>
            {form ? 'Close' : 'New assignment'}
          </button>
        }
      />
      {form && (
        <AssignmentForm
          key={form.editing?.name ?? ''}
          editing={form.editing}
          onDone={() => {
            setForm(null);
            list.refresh();
          }}
        />
      )}
      <Card title="Assignments">
        <ErrorBox error={list.error} />
        {error && <div className="error-box">{error}</div>}
        <table className="table" data-testid="package-assignments-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Selector</th>
              <th className="num">Priority</th>
              <th>Package versions</th>
              <th>Changed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.name} data-testid="package-assignment-row">
                <td>{a.name}</td>
                <td className="mono small">{a.selector || <span className="muted">every agent</span>}</td>
                <td className="num">{a.priority}</td>
                <td className="mono" data-testid="pa-row-packages">
                  {formatDesiredPackages(a.packages)}
                </td>
                <td className="small" title={a.updateTime || a.createTime}>
                  {relativeTime(a.updateTime || a.createTime)} <span className="muted">by {a.createdBy}</span>
                </td>
                <td>
                  <div className="button-row">
                    <button className="btn" data-testid="pa-state" onClick={() => setShown(shown === a.name ? null : a.name)}>
                      Agents
                    </button>
                    <button className="btn" data-testid="pa-edit" onClick={() => setForm({ editing: a })}>
                      Edit
                    </button>
                    <button className="btn btn-danger-outline" onClick={() => void remove(a)}>
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
            {rows.length === 0 && !list.loading && (
              <tr>
                <td colSpan={6} className="empty">
                  No package assignments.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
      {shown && <PackageAssignmentStatusCard key={shown} name={shown} onClose={() => setShown(null)} />}
    </div>
  );
}
