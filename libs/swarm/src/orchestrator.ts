/**
 * Owns a swarm run in the parent process: plans it, forks the worker
 * processes, starts their ramps together, aggregates their reports into
 * progress (one snapshot per interval) and a time series, tracks config
 * convergence, stops by itself after the run's duration, and builds the
 * final report.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConvergenceTracker, type ConvergenceStatus } from './convergence';
import { DescriptionGenerator, isWsAgent } from './description';
import { type ResolvedSwarmOptions, resolveSwarmOptions, type SwarmOptions } from './options';
import { planSwarm, type SwarmPlan, type WorkerPlan } from './plan';
import type { SwarmProgress, SwarmReport, TimePoint, WorkerReport } from './report';
import { formatEqualitySelector, matchesEquality, parseEqualitySelector, type EqualitySelector } from './selector';
import { addCounts, type Counts, diffCounts, ratePerSecond, SampleBuffer, summarize, sumCounts } from './stats';
import type { ParentMessage, WorkerApplied, WorkerMessage, WorkerReady, WorkerStats, WorkerStatusCounters } from './worker-protocol';
import { mergeErrorSamples } from './error-samples';

const READY_TIMEOUT_MS = 30_000;
const START_DELAY_MS = 200;

interface WorkerState {
  readonly plan: WorkerPlan;
  readonly child: ChildProcess;
  ready?: WorkerReady;
  /** The last report while agents were running. */
  running?: WorkerStats;
  final?: WorkerStats;
  peakRss: number;
  /** Local hash id → tracker hash id. */
  readonly hashMap: number[];
  exitCode: number | null;
  exited: boolean;
  readonly exitedPromise: Promise<void>;
}

export interface SwarmHandleEvents {
  progress: [progress: SwarmProgress];
  stopped: [report: SwarmReport];
}

export class SwarmHandle extends EventEmitter<SwarmHandleEvents> {
  private readonly tracker: ConvergenceTracker;
  private readonly generator: DescriptionGenerator;
  private readonly connectMs = new SampleBuffer();
  private readonly reconnectMs = new SampleBuffer();
  private readonly packageInstallMs = new SampleBuffer();
  private readonly series: TimePoint[] = [];
  private last: SwarmProgress;
  private lastAt = 0;
  private peakConnected = 0;
  private allConnectedAt = 0;
  private peakOut = 0;
  private peakIn = 0;
  private tick: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private stopPromise: Promise<SwarmReport> | undefined;
  private finalReport: SwarmReport | undefined;
  private readonly startedAtWall = new Date();
  private endedAt = 0;
  private stopReason = '';
  private readonly errorsExtra: Counts = {};
  private readonly convergenceWaiters = new Set<() => void>();
  private readonly statusWaiters = new Map<WorkerState, (m: WorkerStatusCounters) => void>();
  readonly done: Promise<SwarmReport>;
  private resolveDone!: (report: SwarmReport) => void;

  /** @internal use runSwarm() */
  constructor(
    readonly options: ResolvedSwarmOptions,
    readonly plan: SwarmPlan,
    private readonly workers: WorkerState[],
    readonly startAt: number,
  ) {
    super();
    this.tracker = new ConvergenceTracker(plan.agents);
    this.generator = new DescriptionGenerator(options.description, options.seed);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.last = this.aggregate(startAt);
    this.lastAt = startAt;
    for (const w of workers) {
      w.child.on('message', (m: WorkerMessage) => this.onWorkerMessage(w, m));
      w.child.on('exit', () => this.onWorkerExit());
    }
    this.tick = setInterval(() => this.onTick(), options.statsIntervalMs);
    this.deadline = setTimeout(() => void this.stopWith('duration'), Math.max(0, startAt - Date.now()) + options.durationMs);
  }

  /** The latest progress snapshot. */
  progress(): SwarmProgress {
    return this.last;
  }

  /** The agents' labels, as server selectors see them (deterministic from the seed). */
  labelsOf(index: number): Record<string, string> {
    return this.generator.labels(index);
  }

  /**
   * Start measuring convergence on `hash` (hex) from now (or `t0`) for the
   * agents matching `selector` (`key=value,...` or an object; empty: all).
   */
  markConvergenceStart(hash: string, selector: string | EqualitySelector = {}, t0 = Date.now()): ConvergenceStatus {
    if (!/^[0-9a-fA-F]+$/.test(hash)) throw new RangeError('hash must be hex');
    const sel = typeof selector === 'string' ? parseEqualitySelector(selector) : selector;
    const all = Object.keys(sel).length === 0;
    const status = this.tracker.mark(hash, formatEqualitySelector(sel), (i) => all || matchesEquality(sel, this.generator.labels(i)), t0);
    this.notifyConvergence();
    return status;
  }

  /** The convergence measurement in progress. */
  convergence(): ConvergenceStatus | undefined {
    return this.tracker.latest;
  }

  /** Resolves when every targeted agent reported APPLIED, or with the status so far after `timeoutMs`. */
  waitConverged(timeoutMs: number): Promise<ConvergenceStatus> {
    const latest = (): ConvergenceStatus => {
      const c = this.tracker.latest;
      if (!c) throw new Error('markConvergenceStart() first');
      return c;
    };
    return this.waitUntil(() => {
      const c = latest();
      return c.converged ? c : undefined;
    }, timeoutMs, latest);
  }

  /** Resolves when `count` agents (default all) are connected at once, or rejects after `timeoutMs`. */
  async waitConnected(timeoutMs: number, count = this.plan.agents): Promise<SwarmProgress> {
    const started = Date.now();
    for (;;) {
      const fresh = this.aggregate(Date.now(), false);
      if (fresh.connected >= count) return fresh;
      if (Date.now() - started >= timeoutMs) {
        throw new Error(`timed out after ${timeoutMs} ms: ${fresh.connected}/${count} agents connected`);
      }
      if (this.stopPromise) throw new Error('the swarm stopped');
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, this.options.statsIntervalMs)));
    }
  }

  /** Pause (false) or resume the agents' numbered status reports (agent.statusCounterIntervalMs). */
  setStatusCounting(on: boolean): void {
    const message: ParentMessage = { type: 'statusCounting', on };
    for (const w of this.workers) if (!w.exited && w.child.connected) w.child.send(message, () => undefined);
  }

  /**
   * Every started agent's instance uid (hex), the status counter it last set and the last one
   * the gateway acknowledged, by agent index (agents not started yet: uid '' and 0).
   */
  async statusCounters(timeoutMs = 30_000): Promise<{ uids: string[]; current: Int32Array; acked: Int32Array }> {
    const n = this.plan.agents;
    const out = { uids: new Array<string>(n).fill(''), current: new Int32Array(n), acked: new Int32Array(n) };
    const live = this.workers.filter((w) => !w.exited && w.child.connected);
    const answers = await Promise.all(
      live.map(
        (w) =>
          new Promise<WorkerStatusCounters>((resolve, reject) => {
            const timer = setTimeout(() => {
              this.statusWaiters.delete(w);
              reject(new Error(`swarm worker ${w.plan.workerId} did not report its status counters within ${timeoutMs} ms`));
            }, timeoutMs);
            this.statusWaiters.set(w, (m) => {
              clearTimeout(timer);
              resolve(m);
            });
            const query: ParentMessage = { type: 'statusQuery' };
            w.child.send(query, () => undefined);
          }),
      ),
    );
    for (const m of answers) {
      for (let k = 0; k < m.uids.length; k++) {
        out.uids[m.firstIndex + k] = m.uids[k];
        out.current[m.firstIndex + k] = m.current[k];
        out.acked[m.firstIndex + k] = m.acked[k];
      }
    }
    return out;
  }

  /** Stop every agent, let the workers exit, and build the report. */
  stop(): Promise<SwarmReport> {
    return this.stopWith('stopped by caller');
  }

  /** The report so far (final once stopped). */
  report(): SwarmReport {
    return this.finalReport ?? this.buildReport();
  }

  // --------------------------------------------------------------- internals

  private waitUntil<T>(probe: () => T | undefined, timeoutMs: number, fallback: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.convergenceWaiters.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        resolve(fallback());
      }, timeoutMs);
      this.convergenceWaiters.add(check);
      check();
    });
  }

  private notifyConvergence(): void {
    for (const check of [...this.convergenceWaiters]) check();
  }

  private onWorkerMessage(w: WorkerState, m: WorkerMessage): void {
    switch (m.type) {
      case 'stats':
        w.running = m;
        w.peakRss = Math.max(w.peakRss, m.rss);
        this.connectMs.pushAll(m.connectMs);
        this.reconnectMs.pushAll(m.reconnectMs);
        this.packageInstallMs.pushAll(m.packageInstallMs);
        break;
      case 'stopped':
        w.final = m;
        this.connectMs.pushAll(m.connectMs);
        this.reconnectMs.pushAll(m.reconnectMs);
        this.packageInstallMs.pushAll(m.packageInstallMs);
        break;
      case 'applied':
        this.onApplied(w, m);
        break;
      case 'statusCounters': {
        const waiter = this.statusWaiters.get(w);
        this.statusWaiters.delete(w);
        waiter?.(m);
        break;
      }
      case 'fatal':
        this.errorsExtra['worker_fatal'] = (this.errorsExtra['worker_fatal'] ?? 0) + 1;
        this.emit('progress', this.last);
        break;
      default:
        break;
    }
  }

  private onApplied(w: WorkerState, m: WorkerApplied): void {
    for (const hex of m.newHashes) w.hashMap.push(this.tracker.hashId(hex));
    for (let k = 0; k < m.index.length; k++) {
      this.tracker.record(m.index[k], w.hashMap[m.hashId[k]], m.status[k], m.at[k]);
    }
    this.notifyConvergence();
  }

  private onWorkerExit(): void {
    if (!this.stopPromise) {
      this.errorsExtra['worker_exit'] = (this.errorsExtra['worker_exit'] ?? 0) + 1;
      if (this.workers.every((x) => x.exited)) void this.stopWith('every worker exited');
    }
  }

  private onTick(emit = true): void {
    const now = Date.now();
    const p = this.aggregate(now);
    this.last = p;
    this.lastAt = now;
    if (emit) this.emit('progress', p);
  }

  /** Sum the workers' latest reports; with `record`, also the time series and peaks. */
  private aggregate(now: number, record = true): SwarmProgress {
    let started = 0;
    let connected = 0;
    let sent = 0;
    let received = 0;
    let restarts = 0;
    let healthFlaps = 0;
    let unhealthy = 0;
    let rss = 0;
    let heap = 0;
    let alive = 0;
    const errors: Counts = { ...this.errorsExtra };
    const connectionSettings: Counts = {};
    const packages: Counts = {};
    for (const w of this.workers) {
      const s = w.final ?? w.running;
      if (!w.exited) alive++;
      if (!s) continue;
      started += s.started;
      connected += w.final ? 0 : s.connected;
      sent += s.sent;
      received += s.received;
      restarts += s.restarts;
      healthFlaps += s.healthFlaps;
      unhealthy += w.final ? 0 : s.unhealthy;
      rss += s.rss;
      heap += s.heapUsed;
      addCounts(errors, s.errors);
      addCounts(connectionSettings, s.connectionSettings);
      addCounts(packages, s.packages);
    }
    const previous = this.last;
    const elapsed = now - this.lastAt;
    const outPerS = previous ? ratePerSecond(sent, previous.sent, elapsed) : 0;
    const inPerS = previous ? ratePerSecond(received, previous.received, elapsed) : 0;
    const p: SwarmProgress = {
      elapsedMs: Math.max(0, now - this.startAt),
      agents: this.plan.agents,
      started,
      connected,
      connecting: Math.max(0, started - connected - (this.stopPromise ? started : 0)),
      sent,
      received,
      outPerS: record ? outPerS : (previous?.outPerS ?? 0),
      inPerS: record ? inPerS : (previous?.inPerS ?? 0),
      errors,
      recentErrors: previous ? diffCounts(errors, previous.errors) : {},
      connectionSettings,
      packages,
      restarts,
      healthFlaps,
      unhealthy,
      rssBytes: rss,
      heapUsedBytes: heap,
      workersAlive: alive,
      convergence: this.tracker?.latest,
    };
    if (record && this.tracker) {
      this.peakConnected = Math.max(this.peakConnected, connected);
      if (connected >= this.plan.agents && this.allConnectedAt === 0) this.allConnectedAt = now;
      this.peakOut = Math.max(this.peakOut, outPerS);
      this.peakIn = Math.max(this.peakIn, inPerS);
      this.series.push({ tMs: p.elapsedMs, connected, connecting: p.connecting, outPerS: Math.round(outPerS), inPerS: Math.round(inPerS), errors: sumCounts(errors) });
    }
    return p;
  }

  private stopWith(reason: string): Promise<SwarmReport> {
    if (this.stopPromise) return this.stopPromise;
    this.stopReason = reason;
    // The last picture of the running swarm goes into the series.
    this.onTick(false);
    if (this.deadline) clearTimeout(this.deadline);
    this.stopPromise = (async () => {
      const stop: ParentMessage = { type: 'stop' };
      for (const w of this.workers) {
        if (!w.exited && w.child.connected) w.child.send(stop, () => undefined);
      }
      const killAfter = setTimeout(() => {
        for (const w of this.workers) if (!w.exited) w.child.kill('SIGKILL');
      }, this.options.stopTimeoutMs);
      await Promise.all(this.workers.map((w) => w.exitedPromise));
      clearTimeout(killAfter);
      if (this.tick) clearInterval(this.tick);
      this.tick = undefined;
      this.endedAt = Date.now();
      this.last = this.aggregate(this.endedAt, false);
      this.finalReport = this.buildReport();
      this.notifyConvergence();
      this.emit('stopped', this.finalReport);
      this.resolveDone(this.finalReport);
      return this.finalReport;
    })();
    return this.stopPromise;
  }

  private buildReport(): SwarmReport {
    const o = this.options;
    const end = this.endedAt || Date.now();
    const runMs = Math.max(1, end - this.startAt);
    let ws = 0;
    for (let i = 0; i < this.plan.agents; i++) if (isWsAgent(i, o.wsFraction)) ws++;
    const rampDoneTimes = this.workers.map((w) => (w.final ?? w.running)?.rampDoneAt ?? 0);
    const rampDone = rampDoneTimes.every((t) => t > 0) ? Math.max(...rampDoneTimes) : 0;
    const workers: WorkerReport[] = this.workers.map((w) => {
      const s = w.running;
      const agents = s?.started ?? 0;
      const baseRss = w.ready?.rss ?? 0;
      const baseHeap = w.ready?.heapUsed ?? 0;
      return {
        workerId: w.plan.workerId,
        pid: w.ready?.pid ?? w.child.pid ?? 0,
        agents,
        addresses: w.plan.addresses,
        baselineRssBytes: baseRss,
        rssBytes: s?.rss ?? 0,
        peakRssBytes: w.peakRss,
        baselineHeapBytes: baseHeap,
        heapUsedBytes: s?.heapUsed ?? 0,
        rssPerAgentBytes: agents > 0 && s ? Math.round((s.rss - baseRss) / agents) : 0,
        heapPerAgentBytes: agents > 0 && s ? Math.round((s.heapUsed - baseHeap) / agents) : 0,
        exitCode: w.exitCode,
      };
    });
    const measured = workers.filter((w) => w.agents > 0);
    const agentsMeasured = measured.reduce((n, w) => n + w.agents, 0);
    const p = this.last;
    return {
      startedAt: this.startedAtWall.toISOString(),
      endedAt: new Date(end).toISOString(),
      durationMs: runMs,
      stopReason: this.stopReason || 'running',
      machine: { hostname: os.hostname(), cpus: os.cpus().length, totalMemoryBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}` },
      parameters: {
        agents: o.agents,
        endpoints: o.endpoints,
        wsFraction: o.wsFraction,
        workers: this.plan.workers.length,
        addresses: this.plan.addresses,
        maxAgentsPerWorker: o.maxAgentsPerWorker,
        maxConnectionsPerAddress: o.maxConnectionsPerAddress,
        rampPerSecond: o.rampPerSecond,
        durationMs: o.durationMs,
        seed: o.seed,
        description: o.description,
        agent: { ...o.agent, headers: Object.keys(o.agent.headers), initialConfig: `${o.agent.initialConfig.length} bytes` },
      },
      agents: {
        total: this.plan.agents,
        ws,
        http: this.plan.agents - ws,
        started: p.started,
        connectedAtEnd: this.series.length > 0 ? this.series[this.series.length - 1].connected : 0,
        peakConnected: this.peakConnected,
        allConnectedAfterMs: this.allConnectedAt ? this.allConnectedAt - this.startAt : undefined,
        rampMs: rampDone ? rampDone - this.startAt : undefined,
        rampPerSecondAchieved: rampDone ? Math.round((this.plan.agents * 1000) / Math.max(1, rampDone - this.startAt)) : undefined,
      },
      connectLatencyMs: summarize(this.connectMs.values()),
      reconnectLatencyMs: summarize(this.reconnectMs.values()),
      messages: {
        sent: p.sent,
        received: p.received,
        avgOutPerS: Math.round((p.sent * 1000) / runMs),
        avgInPerS: Math.round((p.received * 1000) / runMs),
        peakOutPerS: Math.round(this.peakOut),
        peakInPerS: Math.round(this.peakIn),
      },
      errors: p.errors,
      errorSamples: mergeErrorSamples(this.workers.map((w) => (w.final ?? w.running)?.errorSamples ?? {})),
      connectionSettings: p.connectionSettings,
      packages: { counts: p.packages, installMs: summarize(this.packageInstallMs.values()) },
      restarts: p.restarts,
      healthFlaps: p.healthFlaps,
      memory: {
        workers,
        totalRssBytes: workers.reduce((n, w) => n + w.rssBytes, 0),
        rssPerAgentBytes: agentsMeasured > 0 ? Math.round(measured.reduce((n, w) => n + w.rssPerAgentBytes * w.agents, 0) / agentsMeasured) : 0,
        heapPerAgentBytes: agentsMeasured > 0 ? Math.round(measured.reduce((n, w) => n + w.heapPerAgentBytes * w.agents, 0) / agentsMeasured) : 0,
      },
      convergence: this.tracker.all(),
      timeSeries: [...this.series],
    };
  }
}

/** The worker entry and the node options it needs, from sources (ts-node) or from built output. */
export function workerCommand(options: Pick<SwarmOptions, 'workerEntry' | 'workerExecArgv'>): { entry: string; execArgv: string[] } {
  const entry = options.workerEntry ?? path.join(__dirname, `worker-main${path.extname(__filename) || '.js'}`);
  if (options.workerExecArgv) return { entry, execArgv: [...options.workerExecArgv] };
  if (entry.endsWith('.ts')) return { entry, execArgv: ['-r', path.join(path.dirname(entry), 'source-register.js')] };
  // Built output: dist/out-tsc/libs/swarm/src/worker-main.js, the alias resolver at dist/out-tsc/register-aliases.js.
  const register = path.resolve(path.dirname(entry), '..', '..', '..', 'register-aliases.js');
  return { entry, execArgv: existsSync(register) ? ['-r', register] : [] };
}

/**
 * Plan the swarm, fork its workers, start the ramp, and return a handle
 * (progress, convergence, stop, report). The swarm stops by itself after
 * `durationMs`; `handle.done` resolves with the report either way.
 */
export async function runSwarm(input: SwarmOptions): Promise<SwarmHandle> {
  const options = resolveSwarmOptions(input);
  const plan = planSwarm({
    agents: options.agents,
    workers: options.workers,
    maxAgentsPerWorker: options.maxAgentsPerWorker,
    addresses: options.addresses,
    firstAddress: options.firstAddress,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    endpoints: options.endpoints,
    rampPerSecond: options.rampPerSecond,
  });
  const { entry, execArgv } = workerCommand(options);
  const workers: WorkerState[] = plan.workers.map((p) => {
    const child = fork(entry, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const state: WorkerState = {
      plan: p,
      child,
      peakRss: 0,
      hashMap: [],
      exitCode: null,
      exited: false,
      exitedPromise: new Promise<void>((resolve) => {
        child.once('exit', (code) => {
          state.exited = true;
          state.exitCode = code;
          resolve();
        });
      }),
    };
    return state;
  });
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`swarm worker ${w.plan.workerId} not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
            w.child.on('message', (m: WorkerMessage) => {
              if (m.type !== 'ready') return;
              w.ready = m;
              clearTimeout(timer);
              resolve();
            });
            w.child.once('exit', (code) => {
              clearTimeout(timer);
              reject(new Error(`swarm worker ${w.plan.workerId} exited (${code}) before it was ready`));
            });
            w.child.once('error', (err) => {
              clearTimeout(timer);
              reject(err);
            });
          }),
      ),
    );
  } catch (err) {
    for (const w of workers) if (!w.exited) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exitedPromise));
    throw err;
  }
  const startAt = Date.now() + START_DELAY_MS;
  const handle = new SwarmHandle(options, plan, workers, startAt);
  for (const w of workers) {
    const message: ParentMessage = {
      type: 'start',
      workerId: w.plan.workerId,
      firstIndex: w.plan.firstIndex,
      count: w.plan.count,
      addresses: w.plan.addresses,
      endpoints: plan.endpoints,
      wsFraction: options.wsFraction,
      seed: options.seed,
      description: options.description,
      agent: options.agent,
      rampPerSecond: w.plan.rampPerSecond,
      startAt,
      statsIntervalMs: options.statsIntervalMs,
    };
    w.child.send(message);
  }
  return handle;
}
