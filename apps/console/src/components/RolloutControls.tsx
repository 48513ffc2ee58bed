/** A rollout's controls (start, pause, resume, abort, roll back) with a reason, for both kinds of rollout. */
import { useState } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { controlGate, rolloutStateName, type RolloutControl } from '../lib/rollout';
import type { RolloutState } from '../lib/types';

export interface RolloutControlSpec {
  control: RolloutControl;
  label: string;
  className: string;
  /** Asked before the call (a destructive control). */
  confirm?: string;
}

/** `path` is the rollout's resource (e.g. /rollouts/NAME); each control POSTs to `${path}:${control}`. */
export function RolloutControls({ state, path, controls, testIdPrefix, onDone }: { state: RolloutState; path: string; controls: readonly RolloutControlSpec[]; testIdPrefix: string; onDone: () => void }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [reason, setReason] = useState('');

  const run = async (c: RolloutControlSpec) => {
    if (c.confirm && !window.confirm(c.confirm)) return;
    setBusy(true);
    setResult(null);
    try {
      const next = await api.post<{ state: string }>(`${path}:${c.control}`, { reason });
      setResult({ ok: true, text: `${c.label}: the rollout is ${rolloutStateName(next.state)}.` });
      onDone();
    } catch (err) {
      setResult({ ok: false, text: `${c.label} failed: ${errorMessage(err)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h3>Controls</h3>
      <input className="reason-input" placeholder="Reason (recorded in the events and the audit log)" value={reason} onChange={(e) => setReason(e.target.value)} />
      <div className="button-row">
        {controls.map((c) => {
          const gate = controlGate(c.control, state);
          return (
            <button key={c.control} className={`btn ${c.className}`} data-testid={`${testIdPrefix}-${c.control}`} disabled={!gate.ok || busy} title={gate.reason || c.label} onClick={() => void run(c)}>
              {c.label}
            </button>
          );
        })}
      </div>
      {result && <div className={result.ok ? 'notice notice-ok' : 'error-box'}>{result.text}</div>}
    </>
  );
}
