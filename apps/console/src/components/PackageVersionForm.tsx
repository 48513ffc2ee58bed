/**
 * Registers a package version: one file per platform, each either by URL and
 * SHA-256 (the server downloads it once to verify) or uploaded from the
 * browser (POST /package-files with progress, then named by the sha256 the
 * server answered).
 */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { isSha256, uploadProgress } from '../lib/packages';
import type { PackageFileUpload, PackageVersion } from '../lib/types';
import { Card, ErrorBox } from './ui';

interface FileRow {
  os: string;
  arch: string;
  mode: 'upload' | 'url';
  url: string;
  sha256: string;
  signature: string;
  file: File | null;
  progress: { loaded: number; total: number } | null;
}

const emptyRow = (): FileRow => ({ os: 'linux', arch: 'amd64', mode: 'upload', url: '', sha256: '', signature: '', file: null, progress: null });

function rowProblem(r: FileRow): string {
  if (!r.os.trim() || !r.arch.trim()) return 'os and arch are required ("any" matches every value).';
  if (r.mode === 'upload') return r.file || isSha256(r.sha256) ? '' : 'choose a file to upload.';
  if (!r.url.trim()) return 'the URL agents download from is required.';
  return isSha256(r.sha256) ? '' : 'the SHA-256: 64 hex digits.';
}

export function PackageVersionForm({ packageName, onRegistered }: { packageName: string; onRegistered: (v: PackageVersion) => void }) {
  const api = useApi();
  const [version, setVersion] = useState('');
  const [rows, setRows] = useState<FileRow[]>([emptyRow()]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (i: number, patch: Partial<FileRow>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const problems = rows.map(rowProblem);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const files = [];
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        let sha256 = r.sha256.trim().toLowerCase();
        if (r.mode === 'upload' && r.file) {
          const up = await api.upload<PackageFileUpload>('/package-files', r.file, (loaded, total) => set(i, { progress: { loaded, total } }));
          sha256 = up.sha256;
          set(i, { sha256 });
        }
        files.push({ os: r.os.trim(), arch: r.arch.trim(), sha256, ...(r.mode === 'url' ? { url: r.url.trim() } : {}), ...(r.signature.trim() ? { signature: r.signature.trim() } : {}) });
      }
      onRegistered(await api.post<PackageVersion>(`/packages/${encodeURIComponent(packageName)}/versions`, { version: version.trim(), files }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Register a version">
      <form onSubmit={submit} data-testid="version-form">
        <div className="form-grid">
          <label className="field">
            <span>Version</span>
            <input data-testid="version-input" className="mono" value={version} onChange={(e) => setVersion(e.target.value)} placeholder="1.1.0" />
          </label>
        </div>
        <table className="table table-compact">
          <thead>
            <tr>
              <th>os.type</th>
              <th>host.arch</th>
              <th>Source</th>
              <th>File or URL + SHA-256</th>
              <th>Signature (base64, optional)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const p = r.progress ? uploadProgress(r.progress.loaded, r.progress.total) : null;
              return (
                <tr key={i} data-testid="version-file-row">
                  <td>
                    <input className="narrow mono" value={r.os} onChange={(e) => set(i, { os: e.target.value })} />
                  </td>
                  <td>
                    <input className="narrow mono" value={r.arch} onChange={(e) => set(i, { arch: e.target.value })} />
                  </td>
                  <td>
                    <select data-testid="file-mode" value={r.mode} onChange={(e) => set(i, { mode: e.target.value as FileRow['mode'] })}>
                      <option value="upload">upload</option>
                      <option value="url">URL</option>
                    </select>
                  </td>
                  <td>
                    {r.mode === 'upload' ? (
                      <>
                        <input data-testid="file-input" type="file" onChange={(e) => set(i, { file: e.target.files?.[0] ?? null, sha256: '', progress: null })} />
                        {p && (
                          <div className="upload-progress">
                            <div className="bar" data-testid="upload-bar" data-percent={p.percent}>
                              <div className="bar-ok" style={{ width: `${p.percent}%` }} />
                            </div>
                            <span className="small muted" data-testid="upload-progress">
                              {p.text}
                            </span>
                          </div>
                        )}
                        {r.sha256 && <div className="mono small muted">sha256 {r.sha256}</div>}
                      </>
                    ) : (
                      <>
                        <input data-testid="file-url" className="mono" value={r.url} onChange={(e) => set(i, { url: e.target.value })} placeholder="https://artifacts.example/otelcol-linux-amd64" />
                        <input data-testid="file-sha256" className="mono" value={r.sha256} onChange={(e) => set(i, { sha256: e.target.value })} placeholder="sha256 (64 hex digits)" />
                      </>
                    )}
                    {problems[i] && <small className="text-bad">{problems[i]}</small>}
                  </td>
                  <td>
                    <input className="mono" value={r.signature} onChange={(e) => set(i, { signature: e.target.value })} />
                  </td>
                  <td>
                    <button type="button" className="btn btn-ghost" disabled={rows.length === 1} onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div className="button-row">
          <button type="button" className="btn" onClick={() => setRows((rs) => [...rs, emptyRow()])}>
            Add a platform
          </button>
        </div>
        <ErrorBox error={error} title="Not registered" />
        <div className="button-row">
          <button className="btn btn-primary" type="submit" data-testid="register-version" disabled={busy || !version.trim() || problems.some(Boolean)}>
            {busy ? 'Registering…' : 'Register version'}
          </button>
        </div>
      </form>
    </Card>
  );
}
