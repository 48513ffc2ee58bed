import { useMemo, useState } from 'react';
import { diffFiles, hunks, type DiffLine } from '../lib/diff';
import type { ConfigFiles } from '../lib/types';

function Line({ l }: { l: DiffLine }) {
  const sign = l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ' ';
  return (
    <tr className={`diff-${l.kind}`}>
      <td className="ln">{l.oldLine ?? ''}</td>
      <td className="ln">{l.newLine ?? ''}</td>
      <td className="sign">{sign}</td>
      <td className="code">{l.text || ' '}</td>
    </tr>
  );
}

/** Unified diff of two file sets, per file, with folded unchanged context. */
export function DiffView({ before, after, beforeLabel, afterLabel }: { before: ConfigFiles; after: ConfigFiles; beforeLabel: string; afterLabel: string }) {
  const files = useMemo(() => diffFiles(before, after), [before, after]);
  const [full, setFull] = useState(false);
  const changed = files.filter((f) => f.status !== 'unchanged');
  return (
    <div className="diff" data-testid="diff">
      <div className="diff-head">
        <span>
          <span className="diff-legend diff-del">− {beforeLabel}</span> <span className="diff-legend diff-add">+ {afterLabel}</span>
        </span>
        <label className="check">
          <input type="checkbox" checked={full} onChange={(e) => setFull(e.target.checked)} /> whole files
        </label>
      </div>
      {changed.length === 0 && <p className="muted">No differences{files.length > 0 ? ` in ${files.length} file${files.length > 1 ? 's' : ''}` : ''}.</p>}
      {files
        .filter((f) => full || f.status !== 'unchanged')
        .map((f) => (
          <div key={f.name} className="diff-file">
            <div className="diff-file-name">
              <code>{f.name}</code> <span className="muted">{f.status}</span>
              {f.added + f.removed > 0 && (
                <span className="diff-stats">
                  <span className="add">+{f.added}</span> <span className="del">−{f.removed}</span>
                </span>
              )}
            </div>
            <table className="diff-table">
              <tbody>
                {full
                  ? f.lines.map((l, i) => <Line key={i} l={l} />)
                  : hunks(f.lines).map((h, i) => [
                      h.skippedBefore > 0 ? (
                        <tr key={`s${i}`} className="diff-skip">
                          <td colSpan={4}>⋯ {h.skippedBefore} unchanged line{h.skippedBefore > 1 ? 's' : ''}</td>
                        </tr>
                      ) : null,
                      ...h.lines.map((l, j) => <Line key={`${i}-${j}`} l={l} />),
                    ])}
              </tbody>
            </table>
          </div>
        ))}
    </div>
  );
}

export function FilesView({ files }: { files: ConfigFiles }) {
  const names = Object.keys(files).sort();
  if (names.length === 0) return <p className="muted">No files.</p>;
  return (
    <div>
      {names.map((n) => (
        <div key={n} className="file-view">
          <div className="diff-file-name">
            <code>{n}</code> <span className="muted">{files[n].contentType}</span>
          </div>
          <pre className="code-block">{files[n].body}</pre>
        </div>
      ))}
    </div>
  );
}
