/**
 * Owns what a swarm run reports: the progress snapshot (one per interval),
 * the final JSON report, and their readable forms.
 */
import type { ConvergenceStatus } from './convergence';
import type { LatencySummary } from './stats';
import type { Counts } from './stats';
import { formatErrorSamples, type ErrorSampleSet } from './error-samples';

export interface SwarmProgress {
  /** Since the ramp started. */
  readonly elapsedMs: number;
  readonly agents: number;
  readonly started: number;
  readonly connected: number;
  /** Started, not connected (first connection or reconnecting). */
  readonly connecting: number;
  readonly sent: number;
  readonly received: number;
  /** Messages per second, agents → server (out) and server → agents (in), over the last interval. */
  readonly outPerS: number;
  readonly inPerS: number;
  /** Cumulative, by kind (`http_status_503`, `transport`, `unavailable`, ...). */
  readonly errors: Counts;
  /** Errors in the last interval, by kind. */
  readonly recentErrors: Counts;
  /** Cumulative connection settings outcomes (followConnectionSettings): APPLYING, APPLIED, FAILED. */
  readonly connectionSettings: Counts;
  /** Cumulative package outcomes (acceptPackages): `<downloading|installed|install_failed> <version>`, `bytes`, `resumes`, `busy_waits`. */
  readonly packages: Counts;
  readonly restarts: number;
  readonly healthFlaps: number;
  readonly unhealthy: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly workersAlive: number;
  readonly convergence?: ConvergenceStatus;
}

export interface TimePoint {
  readonly tMs: number;
  readonly connected: number;
  readonly connecting: number;
  readonly outPerS: number;
  readonly inPerS: number;
  readonly errors: number;
}

export interface WorkerReport {
  readonly workerId: number;
  readonly pid: number;
  readonly agents: number;
  readonly addresses: readonly string[];
  readonly baselineRssBytes: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  readonly heapUsedBytes: number;
  readonly baselineHeapBytes: number;
  /** (RSS − baseline) / agents, at the last report before stopping. */
  readonly rssPerAgentBytes: number;
  readonly heapPerAgentBytes: number;
  readonly exitCode: number | null;
}

export interface SwarmReport {
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly stopReason: string;
  readonly machine: { readonly hostname: string; readonly cpus: number; readonly totalMemoryBytes: number; readonly node: string; readonly platform: string };
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly agents: {
    readonly total: number;
    readonly ws: number;
    readonly http: number;
    readonly started: number;
    readonly connectedAtEnd: number;
    readonly peakConnected: number;
    /** Ramp start → every agent connected at the same time (if reached). */
    readonly allConnectedAfterMs?: number;
    /** Ramp start → last agent started. */
    readonly rampMs?: number;
    readonly rampPerSecondAchieved?: number;
  };
  readonly connectLatencyMs: LatencySummary;
  readonly reconnectLatencyMs: LatencySummary;
  readonly messages: {
    readonly sent: number;
    readonly received: number;
    readonly avgOutPerS: number;
    readonly avgInPerS: number;
    readonly peakOutPerS: number;
    readonly peakInPerS: number;
  };
  readonly errors: Counts;
  /** What the errors were: a few distinct messages per kind, with counts. */
  readonly errorSamples: ErrorSampleSet;
  readonly connectionSettings: Counts;
  /** Package outcomes as in the progress, and download start → installed per install. */
  readonly packages: { readonly counts: Counts; readonly installMs: LatencySummary };
  readonly restarts: number;
  readonly healthFlaps: number;
  readonly memory: {
    readonly workers: readonly WorkerReport[];
    readonly totalRssBytes: number;
    readonly rssPerAgentBytes: number;
    readonly heapPerAgentBytes: number;
  };
  readonly convergence: readonly ConvergenceStatus[];
  readonly timeSeries: readonly TimePoint[];
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const secs = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

export function formatCounts(counts: Counts): string {
  const keys = Object.keys(counts).filter((k) => counts[k] !== 0).sort();
  return keys.length === 0 ? 'none' : keys.map((k) => `${k}=${int(counts[k])}`).join(' ');
}

/** One progress line, e.g. `[  12s] connected 4,500/5,000 connecting 500 out 1,234/s in 1,200/s errors transport=3 rss 410 MB`. */
export function formatProgress(p: SwarmProgress): string {
  const parts = [
    `[${String(Math.floor(p.elapsedMs / 1000)).padStart(4)}s]`,
    `connected ${int(p.connected)}/${int(p.agents)}`,
    `connecting ${int(p.connecting)}`,
    `out ${int(p.outPerS)}/s in ${int(p.inPerS)}/s`,
    `errors ${formatCounts(p.errors)}`,
  ];
  if (p.healthFlaps > 0) parts.push(`unhealthy ${int(p.unhealthy)}`);
  if (p.restarts > 0) parts.push(`restarts ${int(p.restarts)}`);
  if (Object.keys(p.connectionSettings).length > 0) parts.push(`settings ${formatCounts(p.connectionSettings)}`);
  if (Object.keys(p.packages).length > 0) parts.push(`packages ${formatCounts(p.packages)}`);
  const c = p.convergence;
  if (c) parts.push(`converge ${c.applied}/${c.targeted}${c.failed ? ` failed ${c.failed}` : ''}${c.converged ? ` in ${secs(c.convergenceMs)}` : ''}`);
  parts.push(`rss ${mb(p.rssBytes)}`);
  return parts.join('  ');
}

function latencyLine(label: string, s: LatencySummary): string {
  if (s.count === 0) return `${label}: none`;
  return `${label} (${int(s.count)}): p50 ${s.p50} ms  p90 ${s.p90} ms  p99 ${s.p99} ms  max ${s.max} ms`;
}

function packageLines({ counts, installMs }: SwarmReport['packages']): string[] {
  if (Object.keys(counts).length === 0) return [];
  return [`packages: ${formatCounts(counts)}`, latencyLine('package download start → installed', installMs)];
}

export function formatSummary(r: SwarmReport): string {
  const lines = [
    `swarm: ${int(r.agents.total)} agents (${int(r.agents.ws)} WS, ${int(r.agents.http)} HTTP) over ${r.memory.workers.length} workers, ${secs(r.durationMs)}, stopped: ${r.stopReason}`,
    `connected: ${int(r.agents.connectedAtEnd)} at the end, peak ${int(r.agents.peakConnected)}; all connected after ${secs(r.agents.allConnectedAfterMs)}`,
    `ramp: ${secs(r.agents.rampMs)}${r.agents.rampPerSecondAchieved ? ` (${int(r.agents.rampPerSecondAchieved)} agents/s)` : ''}`,
    latencyLine('connect latency', r.connectLatencyMs),
    latencyLine('reconnect time', r.reconnectLatencyMs),
    `messages: out ${int(r.messages.sent)} (avg ${int(r.messages.avgOutPerS)}/s, peak ${int(r.messages.peakOutPerS)}/s), in ${int(r.messages.received)} (avg ${int(r.messages.avgInPerS)}/s, peak ${int(r.messages.peakInPerS)}/s)`,
    `errors: ${formatCounts(r.errors)}`,
    ...formatErrorSamples(r.errorSamples).map((line) => `  ${line}`),
    ...(Object.keys(r.connectionSettings).length > 0 ? [`connection settings: ${formatCounts(r.connectionSettings)}`] : []),
    ...packageLines(r.packages),
    `restarts: ${int(r.restarts)}  health flaps: ${int(r.healthFlaps)}`,
    `memory: ${mb(r.memory.totalRssBytes)} RSS in workers; per agent ${kib(r.memory.rssPerAgentBytes)} RSS, ${kib(r.memory.heapPerAgentBytes)} heap`,
  ];
  for (const w of r.memory.workers) {
    lines.push(
      `  worker ${w.workerId} (pid ${w.pid}, ${w.addresses.join(' ')}): ${int(w.agents)} agents, RSS ${mb(w.rssBytes)} (peak ${mb(w.peakRssBytes)}), ${kib(w.rssPerAgentBytes)}/agent`,
    );
  }
  for (const c of r.convergence) {
    const outcome = c.converged
      ? `converged in ${secs(c.convergenceMs)} (per agent p50 ${c.appliedLatencyMs.p50} ms, p99 ${c.appliedLatencyMs.p99} ms)`
      : `NOT converged: ${int(c.applied)} applied, ${int(c.failed)} failed, ${int(c.pending)} pending`;
    lines.push(`convergence ${c.hash.slice(0, 16)} [${c.selector || 'all agents'}]: ${int(c.targeted)} targeted, ${outcome}`);
  }
  return lines.join('\n');
}
