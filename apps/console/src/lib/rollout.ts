/**
 * Rollout helpers: which controls a state allows (the server's transition
 * table, so buttons are disabled with a reason instead of failing), the
 * strategy form's text syntax, and display names.
 */
import type { RolloutProgress, RolloutState, RolloutStrategy } from './types';

export type RolloutControl = 'start' | 'pause' | 'resume' | 'abort' | 'rollback';

const SHORT: Record<string, string> = {
  ROLLOUT_STATE_PENDING: 'pending',
  ROLLOUT_STATE_RUNNING: 'running',
  ROLLOUT_STATE_PAUSED: 'paused',
  ROLLOUT_STATE_COMPLETED: 'completed',
  ROLLOUT_STATE_ABORTED: 'aborted',
  ROLLOUT_STATE_ROLLING_BACK: 'rolling back',
  ROLLOUT_STATE_ROLLED_BACK: 'rolled back',
};

export function rolloutStateName(s: RolloutState | string): string {
  return SHORT[s] ?? s.replace(/^ROLLOUT_(BATCH_|AGENT_PHASE_)?STATE_|^ROLLOUT_AGENT_PHASE_/, '').toLowerCase().replace(/_/g, ' ');
}

/** Same table as the server (desired-state nextRolloutState). */
const ALLOWED: Record<RolloutControl, RolloutState[]> = {
  start: ['ROLLOUT_STATE_PENDING'],
  pause: ['ROLLOUT_STATE_RUNNING'],
  resume: ['ROLLOUT_STATE_PAUSED'],
  abort: ['ROLLOUT_STATE_PENDING', 'ROLLOUT_STATE_RUNNING', 'ROLLOUT_STATE_PAUSED'],
  rollback: ['ROLLOUT_STATE_RUNNING', 'ROLLOUT_STATE_PAUSED', 'ROLLOUT_STATE_ABORTED'],
};

export function controlGate(control: RolloutControl, state: RolloutState): { ok: boolean; reason: string } {
  if (ALLOWED[control].includes(state)) return { ok: true, reason: '' };
  return { ok: false, reason: `Cannot ${control} a rollout that is ${rolloutStateName(state)}.` };
}

export function isActive(state: RolloutState): boolean {
  return ['ROLLOUT_STATE_PENDING', 'ROLLOUT_STATE_RUNNING', 'ROLLOUT_STATE_PAUSED', 'ROLLOUT_STATE_ROLLING_BACK'].includes(state);
}

export type StrategyKind = 'batchSize' | 'batchPercent' | 'steps' | 'stages';

/**
 * Builds a strategy from the form: a batch size ("10"), a batch percent
 * ("25"), cumulative steps ("1, 10%, 50%, 100%") or stages, one per line
 * ("canary: env=canary"). Throws with a message for the form on bad input.
 */
export function parseStrategy(kind: StrategyKind, text: string): Partial<RolloutStrategy> {
  const t = text.trim();
  if (kind === 'batchSize') {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) throw new Error('Batch size: a whole number of agents, at least 1.');
    return { batchSize: n };
  }
  if (kind === 'batchPercent') {
    const n = Number(t.replace(/%$/, ''));
    if (!(n > 0 && n <= 100)) throw new Error('Batch percent: more than 0, at most 100.');
    return { batchPercent: n };
  }
  if (kind === 'steps') {
    const parts = t.split(/[\s,]+/).filter(Boolean);
    if (parts.length === 0) throw new Error('Steps: e.g. 1, 10%, 50%, 100%.');
    const steps = parts.map((p) => {
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(p);
      if (pct) {
        const v = Number(pct[1]);
        if (!(v > 0 && v <= 100)) throw new Error(`Step ${p}: a percent above 0 and at most 100.`);
        return { count: 0, percent: v };
      }
      if (/^\d+$/.test(p) && Number(p) >= 1) return { count: Number(p), percent: 0 };
      throw new Error(`Step "${p}": a number of agents (10) or a percent (10%).`);
    });
    return { steps };
  }
  const stages = t
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(':');
      if (i <= 0) throw new Error(`Stage "${l}": name: selector`);
      return { name: l.slice(0, i).trim(), selector: l.slice(i + 1).trim() };
    });
  if (stages.length === 0) throw new Error('Stages: one per line, name: selector.');
  return { stages };
}

export function describeStrategy(s: RolloutStrategy): string {
  if (s.batchSize) return `batches of ${s.batchSize}`;
  if (s.batchPercent) return `batches of ${s.batchPercent}%`;
  if (s.steps.length) return `steps ${s.steps.map((x) => (x.count ? String(x.count) : `${x.percent}%`)).join(' → ')}`;
  if (s.stages.length) return `stages ${s.stages.map((x) => x.name).join(' → ')}`;
  return '—';
}

export function progressDone(p: RolloutProgress): number {
  return p.applied;
}

/** Widths (percent of the batch or rollout) of a progress bar's filled parts. */
export interface ProgressSegments {
  applied: number;
  applying: number;
  bad: number;
  /** Not moved yet (pending): left unfilled, so a batch that has not started never reads as done. */
  waiting: number;
}

export function progressSegments(p: RolloutProgress, totalAgents: number): ProgressSegments {
  const total = Math.max(1, totalAgents);
  const pct = (n: number) => Math.min(100, (100 * n) / total);
  return { applied: pct(p.applied), applying: pct(p.applying), bad: pct(progressBad(p)), waiting: pct(p.pending) };
}

/** Agents that did not make it: failed, unhealthy, offline, not sent, or past the apply deadline. */
export function progressBad(p: RolloutProgress): number {
  return p.failed + p.unhealthy + p.offline + p.notSent + (p.timedOut ?? 0);
}

/** A rollout's gates as the detail pages (both kinds) show them. */
export function describeGates(gates: { maxFailedAgents: number; maxFailedPercent: number }, autoRollback: boolean): string {
  return `fails above ${gates.maxFailedAgents} agents or ${gates.maxFailedPercent}% (the larger) · ${autoRollback ? 'rolls back' : 'pauses'} on failure`;
}

/** The apply deadline as the detail page shows it. */
export function describeApplyTimeout(ms: number): string {
  if (!ms) return 'none: an agent that never reports holds its batch';
  const s = ms / 1000;
  const text = s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
  return `${text} per agent, then it counts as timed out (against the gate)`;
}

/** The form's apply deadline in seconds (blank = the server's default) -> the request field. Throws with a message for the form. */
export function applyTimeoutField(seconds: string): { applyTimeoutMs?: number } {
  const t = seconds.trim();
  if (t === '') return {};
  const n = Number(t);
  if (!Number.isFinite(n) || n < 0 || n > 86_400) throw new Error('Apply deadline: seconds from 0 (none) to 86400 (24 h), or blank for the default (10 min).');
  return { applyTimeoutMs: Math.round(n * 1000) };
}
