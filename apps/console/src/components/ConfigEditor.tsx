/**
 * A YAML editor for a configuration's files: one tab per file, line numbers,
 * validation through the API's ValidateConfiguration while typing (nothing is
 * stored), errors listed and their lines marked. The parent saves only when
 * `onValidity` last reported valid.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { useDebounced } from '../hooks';
import { locateErrors } from '../lib/config-errors';
import type { ConfigFiles, ConfigFormat, ValidateConfigurationResponse } from '../lib/types';

export interface Validity {
  state: 'checking' | 'valid' | 'invalid' | 'error';
  errors: string[];
  contentHash: string;
}

function CodeArea({ value, onChange, errorLines, testId }: { value: string; onChange: (v: string) => void; errorLines: Set<number>; testId: string }) {
  const gutter = useRef<HTMLDivElement>(null);
  const lines = value.split('\n').length;
  return (
    <div className="code-area">
      <div className="gutter" ref={gutter} aria-hidden>
        {Array.from({ length: lines }, (_, i) => (
          <div key={i} className={errorLines.has(i + 1) ? 'gutter-error' : undefined}>
            {i + 1}
          </div>
        ))}
      </div>
      <textarea
        data-testid={testId}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          // Tab inserts two spaces (YAML has no tabs).
          if (e.key !== 'Tab' || e.shiftKey) return;
          e.preventDefault();
          const t = e.currentTarget;
          const { selectionStart: s, selectionEnd: end } = t;
          const next = `${value.slice(0, s)}  ${value.slice(end)}`;
          onChange(next);
          requestAnimationFrame(() => t.setSelectionRange(s + 2, s + 2));
        }}
      />
    </div>
  );
}

export function ConfigEditor({
  files,
  onChange,
  format,
  onValidity,
}: {
  files: ConfigFiles;
  onChange: (files: ConfigFiles) => void;
  format: ConfigFormat;
  onValidity: (v: Validity) => void;
}) {
  const api = useApi();
  const names = Object.keys(files).sort();
  const [active, setActive] = useState(names[0] ?? '');
  const [newName, setNewName] = useState('');
  const [validity, setValidity] = useState<Validity>({ state: 'checking', errors: [], contentHash: '' });
  const debounced = useDebounced(files, 350);
  const onValidityRef = useRef(onValidity);
  onValidityRef.current = onValidity;

  useEffect(() => {
    if (!files[active] && names.length > 0) setActive(names[0]);
  }, [files, active, names]);

  // Anything typed since the last check is not validated yet.
  useEffect(() => {
    if (debounced !== files) {
      setValidity((v) => ({ ...v, state: 'checking' }));
      onValidityRef.current({ state: 'checking', errors: [], contentHash: '' });
    }
  }, [files, debounced]);

  useEffect(() => {
    let stale = false;
    api
      .post<ValidateConfigurationResponse>('/configurations:validate', { format, files: debounced })
      .then((r) => {
        if (stale) return;
        const v: Validity = { state: r.valid ? 'valid' : 'invalid', errors: r.errors, contentHash: r.contentHash };
        setValidity(v);
        onValidityRef.current(v);
      })
      .catch((err: unknown) => {
        if (stale) return;
        const v: Validity = { state: 'error', errors: [errorMessage(err)], contentHash: '' };
        setValidity(v);
        onValidityRef.current(v);
      });
    return () => {
      stale = true;
    };
  }, [api, debounced, format]);

  const located = useMemo(() => locateErrors(validity.state === 'invalid' ? validity.errors : [], names), [validity, names]);
  const errorLines = useMemo(() => new Set(located.filter((e) => (e.file ?? names[0]) === active && e.line).map((e) => e.line as number)), [located, active, names]);

  const addFile = () => {
    const n = newName.trim();
    if (!n || files[n]) return;
    onChange({ ...files, [n]: { body: '', contentType: n.endsWith('.yaml') || n.endsWith('.yml') ? 'text/yaml' : 'text/plain' } });
    setActive(n);
    setNewName('');
  };

  return (
    <div className="editor">
      <div className="tabs">
        {names.map((n) => (
          <button type="button" key={n} className={`tab ${n === active ? 'tab-active' : ''} ${located.some((e) => e.file === n) ? 'tab-error' : ''}`} onClick={() => setActive(n)}>
            {n}
            {names.length > 1 && (
              <span
                className="tab-close"
                title={`Remove ${n}`}
                onClick={(e) => {
                  e.stopPropagation();
                  const rest = { ...files };
                  delete rest[n];
                  onChange(rest);
                }}
              >
                ×
              </span>
            )}
          </button>
        ))}
        <span className="tab-add">
          <input placeholder="add file…" value={newName} onChange={(e) => setNewName(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), addFile())} />
          <button type="button" className="btn btn-small" onClick={addFile} disabled={!newName.trim() || !!files[newName.trim()]}>
            Add
          </button>
        </span>
      </div>
      {files[active] ? (
        <CodeArea testId="yaml-editor" value={files[active].body} errorLines={errorLines} onChange={(body) => onChange({ ...files, [active]: { ...files[active], body } })} />
      ) : (
        <p className="muted">Add a file to start.</p>
      )}
      <div className={`validation validation-${validity.state}`} data-testid="validation" data-state={validity.state}>
        {validity.state === 'checking' && <span>Validating…</span>}
        {validity.state === 'valid' && (
          <span>
            ✓ Valid configuration · content hash <code>{validity.contentHash.slice(0, 12)}</code>
          </span>
        )}
        {(validity.state === 'invalid' || validity.state === 'error') && (
          <div>
            <strong>{validity.state === 'invalid' ? `${validity.errors.length} validation error${validity.errors.length > 1 ? 's' : ''}` : 'Could not validate'}</strong>
            <ul data-testid="validation-errors">
              {(validity.state === 'invalid' ? located : validity.errors.map((message) => ({ message, file: undefined, line: undefined }))).map((e, i) => (
                <li key={i}>
                  {e.file && e.line ? (
                    <button type="button" className="link" onClick={() => setActive(e.file as string)}>
                      {e.file}:{e.line}
                    </button>
                  ) : null}{' '}
                  {e.message}
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </div>
  );
}
