/**
 * Owns one worker process's share of the swarm: creates and starts its
 * agents at its share of the ramp rate, flaps their health, counts what they
 * do (package installs too), and reports to the orchestrator (stats every interval, remote config
 * outcomes in small batches). One object per agent plus a few numbers; all
 * listeners are module-level functions (no closures per agent).
 */
import type { AgentError, AgentProfile, ConnectionSettingsReport, PackageInstallEvent, RemoteConfigState } from '@opamp/agent-sim';
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import type { HealthInput } from '@opamp/agent-sim';
import { DescriptionGenerator, isWsAgent } from './description';
import type { WorkerApplied, WorkerMessage, WorkerStart, WorkerStats, WorkerStatusCounters } from './worker-protocol';
import { replyKind, StatusAckTracker } from './status-ack.tracker';
import type { Counts } from './stats';
import { SampleBuffer } from './stats';
import { ErrorSamples } from './error-samples';

const RAMP_TICK_MS = 10;
const FLAP_TICK_MS = 250;
const APPLIED_FLUSH_MS = 100;
const STATUS_TICK_MS = 250;
const HEALTHY: HealthInput = Object.freeze({ healthy: true, status: 'StatusOK' });
/** What following connection settings offers adds to an agent's capabilities. */
const FOLLOWS_SETTINGS = AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsConnectionSettingsStatus;
/** What taking package offers adds. */
const TAKES_PACKAGES = AgentCapabilities.AcceptsPackages | AgentCapabilities.ReportsPackageStatuses;
const SETTINGS_STATUS = opamp.proto.v1.ConnectionSettingsStatuses;

const UNHEALTHY: HealthInput = Object.freeze({ healthy: false, status: 'StatusRecoverableError', lastError: 'simulated health flap' });

export type SendToParent = (message: WorkerMessage) => void;

class SwarmAgent extends SimulatedAgent {
  startedAt = 0;
  firstReplyAt = 0;
  downSince = 0;
  unhealthyUntil = 0;
  /** When the package download in progress started (0: none). */
  downloadStartedAt = 0;
  /** Numbered status reports (statusCounterIntervalMs), else undefined. */
  statusAcks: StatusAckTracker | undefined;

  constructor(
    options: ConstructorParameters<typeof SimulatedAgent>[0],
    readonly index: number,
    readonly owner: SwarmWorker,
  ) {
    super(options);
  }
}

function onServerMessage(this: SwarmAgent, message: opamp.proto.v1.ServerToAgent): void {
  this.statusAcks?.received(replyKind(message));
  const now = Date.now();
  if (this.firstReplyAt === 0) {
    this.firstReplyAt = now;
    this.owner.connectMs.push(now - this.startedAt);
  } else if (this.downSince !== 0) {
    this.owner.reconnectMs.push(now - this.downSince);
    this.downSince = 0;
  }
}

function onConnected(this: SwarmAgent): void {
  this.statusAcks?.connected(this.sent);
}

function onDisconnected(this: SwarmAgent): void {
  this.statusAcks?.disconnected();
  if (this.running && this.firstReplyAt !== 0 && this.downSince === 0) this.downSince = Date.now();
}

function onApplied(this: SwarmAgent, state: RemoteConfigState): void {
  this.owner.recordApplied(this.index, state);
}

function onConnectionSettings(this: SwarmAgent, state: ConnectionSettingsReport): void {
  const key = SETTINGS_STATUS[state.status]?.replace('ConnectionSettingsStatuses_', '') ?? String(state.status);
  const counts = this.owner.connectionSettings;
  counts[key] = (counts[key] ?? 0) + 1;
}

function onPackages(this: SwarmAgent, e: PackageInstallEvent): void {
  const counts = this.owner.packages;
  // Progress reports of a download under way are not counted, only its start.
  if (e.status === 'downloading' && e.downloadPercent !== undefined) return;
  const key = `${e.status} ${e.version}`;
  counts[key] = (counts[key] ?? 0) + 1;
  if (e.status === 'downloading') {
    this.downloadStartedAt = Date.now();
    return;
  }
  if (e.status === 'installed') {
    counts['bytes'] = (counts['bytes'] ?? 0) + (e.bytes ?? 0);
    counts['resumes'] = (counts['resumes'] ?? 0) + (e.resumes ?? 0);
    counts['busy_waits'] = (counts['busy_waits'] ?? 0) + (e.busyWaits ?? 0);
    if (this.downloadStartedAt !== 0) this.owner.packageInstallMs.push(Date.now() - this.downloadStartedAt);
  }
  this.downloadStartedAt = 0;
}

function onRestart(this: SwarmAgent): void {
  this.owner.restarts++;
}

function onError(this: SwarmAgent, error: AgentError): void {
  const key = error.status !== undefined ? `${error.kind}_${error.status}` : error.kind;
  const errors = this.owner.errors;
  errors[key] = (errors[key] ?? 0) + 1;
  this.owner.errorSamples.record(key, error.message);
}

export class SwarmWorker {
  readonly connectMs = new SampleBuffer();
  readonly reconnectMs = new SampleBuffer();
  readonly errors: Counts = {};
  readonly errorSamples = new ErrorSamples();
  readonly connectionSettings: Counts = {};
  readonly packages: Counts = {};
  readonly packageInstallMs = new SampleBuffer();
  restarts = 0;
  healthFlaps = 0;

  private readonly agents: SwarmAgent[] = [];
  private readonly generator: DescriptionGenerator;
  private readonly profiles = new Map<string, AgentProfile>();
  private readonly unhealthy: SwarmAgent[] = [];
  private rampTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private flapTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusCounting = true;
  private statusTicks = 0;
  private appliedTimer: NodeJS.Timeout | undefined;
  private rampDoneAt = 0;
  private stopping = false;
  private flapCarry = 0;

  // Remote config outcomes not yet reported.
  private readonly hashIds = new Map<string, number>();
  private newHashes: string[] = [];
  private appliedIndex: number[] = [];
  private appliedHash: number[] = [];
  private appliedStatus: number[] = [];
  private appliedAt: number[] = [];

  constructor(
    private readonly spec: WorkerStart,
    private readonly send: SendToParent,
  ) {
    this.generator = new DescriptionGenerator(spec.description, spec.seed);
  }

  get startedCount(): number {
    return this.agents.length;
  }

  /** Begin the ramp at spec.startAt and the periodic reports. */
  start(): void {
    const spec = this.spec;
    const delay = Math.max(0, spec.startAt - Date.now());
    setTimeout(() => {
      if (this.stopping) return;
      this.rampTick();
      if (this.agents.length < spec.count) this.rampTimer = setInterval(() => this.rampTick(), RAMP_TICK_MS);
    }, delay);
    this.statsTimer = setInterval(() => this.send(this.stats('stats')), spec.statsIntervalMs);
    if (spec.agent.healthFlapsPerHour > 0) this.flapTimer = setInterval(() => this.flapTick(), FLAP_TICK_MS);
    if (spec.agent.statusCounterIntervalMs > 0) this.statusTimer = setInterval(() => this.statusTick(), STATUS_TICK_MS);
  }

  /** Stop every agent gracefully (agent_disconnect, close) and report the final stats. */
  async stop(): Promise<WorkerStats> {
    this.stopping = true;
    for (const t of [this.rampTimer, this.statsTimer, this.flapTimer, this.statusTimer]) if (t) clearInterval(t);
    if (this.appliedTimer) clearTimeout(this.appliedTimer);
    this.rampTimer = this.statsTimer = this.flapTimer = this.appliedTimer = this.statusTimer = undefined;
    await Promise.all(this.agents.map((a) => a.stop()));
    this.flushApplied();
    return this.stats('stopped');
  }

  private rampTick(): void {
    const spec = this.spec;
    const due = Math.min(spec.count, Math.floor(((Date.now() - spec.startAt) * spec.rampPerSecond) / 1000) + 1);
    while (this.agents.length < due && !this.stopping) this.startAgent(spec.firstIndex + this.agents.length);
    if (this.agents.length >= spec.count && this.rampDoneAt === 0) {
      this.rampDoneAt = Date.now();
      if (this.rampTimer) clearInterval(this.rampTimer);
      this.rampTimer = undefined;
    }
  }

  private startAgent(index: number): void {
    const spec = this.spec;
    const k = index - spec.firstIndex;
    const endpoint = spec.endpoints[index % spec.endpoints.length];
    const transport = isWsAgent(index, spec.wsFraction) ? 'ws' : 'http';
    const agent = new SwarmAgent(
      {
        profile: this.profile(endpoint, transport),
        description: this.generator.describe(index),
        localAddress: spec.addresses[k % spec.addresses.length],
        health: HEALTHY,
      },
      index,
      this,
    );
    if (spec.agent.statusCounterIntervalMs > 0) {
      agent.statusAcks = new StatusAckTracker();
      agent.on('connected', onConnected);
    }
    agent.on('serverMessage', onServerMessage);
    agent.on('disconnected', onDisconnected);
    agent.on('applied', onApplied);
    agent.on('restart', onRestart);
    if (spec.agent.followConnectionSettings) agent.on('connectionSettings', onConnectionSettings);
    if (spec.agent.acceptPackages) agent.on('packages', onPackages);
    agent.on('error', onError);
    this.agents.push(agent);
    agent.startedAt = Date.now();
    agent.start();
  }

  private profile(endpoint: string, transport: 'ws' | 'http'): AgentProfile {
    const key = `${transport} ${endpoint}`;
    let profile = this.profiles.get(key);
    if (!profile) {
      const a = this.spec.agent;
      profile = Object.freeze({
        endpoint,
        transport,
        headers: a.headers,
        capabilities: withExtras(
          a.capabilities,
          (a.followConnectionSettings ? FOLLOWS_SETTINGS : 0) | (a.acceptPackages ? TAKES_PACKAGES : 0) | (a.ownMetrics !== undefined ? AgentCapabilities.ReportsOwnMetrics : 0),
        ),
        followConnectionSettings: a.followConnectionSettings,
        ownMetrics: a.ownMetrics,
        endpointAliases: a.endpointAliases,
        requestClientCertificate: a.requestClientCertificate,
        serverCaPem: a.serverCaPem,
        agentPackage: a.agentPackage,
        packageDownloadBusyWaits: a.packageDownloadBusyWaits,
        heartbeatIntervalMs: a.heartbeatIntervalMs,
        initialEffectiveConfig: { configMap: { '': { body: Buffer.from(a.initialConfig), contentType: 'text/yaml' } } },
        applyConfig: { delayMs: a.applyDelayMs, failureRate: a.applyFailureRate, errorMessage: 'simulated apply failure' },
        reconnect: a.reconnect,
        minRetryMs: a.minRetryMs,
        firstMessageCompressedOnReconnect: a.firstMessageCompressedOnReconnect,
        perMessageDeflate: a.perMessageDeflate,
        requestTimeoutMs: a.requestTimeoutMs,
        receivedLimit: 0,
      });
      this.profiles.set(key, profile);
    }
    return profile;
  }

  // ------------------------------------------------------------ health

  private flapTick(): void {
    const now = Date.now();
    // Recover first (FIFO: every flap lasts the same time).
    while (this.unhealthy.length > 0 && this.unhealthy[0].unhealthyUntil <= now) {
      const agent = this.unhealthy[0];
      this.unhealthy.shift();
      agent.unhealthyUntil = 0;
      if (agent.running) agent.setHealth(HEALTHY);
    }
    const n = this.agents.length;
    if (n === 0) return;
    this.flapCarry += (n * this.spec.agent.healthFlapsPerHour * FLAP_TICK_MS) / 3_600_000;
    let flaps = Math.floor(this.flapCarry);
    this.flapCarry -= flaps;
    // A few draws per flap at most, so a mostly-unhealthy fleet does not spin.
    for (let tries = flaps * 4; flaps > 0 && tries > 0; tries--) {
      const agent = this.agents[Math.floor(Math.random() * n)];
      if (!agent.running || agent.unhealthyUntil !== 0 || !agent.connected) continue;
      agent.unhealthyUntil = now + this.spec.agent.unhealthyMs;
      agent.setHealth(UNHEALTHY);
      this.unhealthy.push(agent);
      this.healthFlaps++;
      flaps--;
    }
  }

  // ------------------------------------------------ numbered statuses

  /** Pause or resume the numbered status reports (a check compares them with the server's view while paused). */
  setStatusCounting(on: boolean): void {
    this.statusCounting = on;
  }

  /** Each tick moves the agents whose slot it is (index mod ticks per interval): the reports spread evenly. */
  private statusTick(): void {
    if (!this.statusCounting) return;
    const slots = Math.max(1, Math.round(this.spec.agent.statusCounterIntervalMs / STATUS_TICK_MS));
    const slot = this.statusTicks++ % slots;
    for (let k = slot; k < this.agents.length; k += slots) {
      const agent = this.agents[k];
      const acks = agent.statusAcks;
      if (!acks || !agent.running) continue;
      const next = acks.current + 1;
      // Set before the health changes: the message the change sends is the one that carries it.
      acks.set(next, agent.sent);
      agent.setHealth({ ...agent.health, status: `StatusOK #${next}` });
    }
  }

  statusCounters(): WorkerStatusCounters {
    const n = this.agents.length;
    const current = new Int32Array(n);
    const acked = new Int32Array(n);
    const uids: string[] = [];
    for (let k = 0; k < n; k++) {
      const a = this.agents[k];
      uids.push(a.instanceUid.toString('hex'));
      current[k] = a.statusAcks?.current ?? 0;
      acked[k] = a.statusAcks?.acked ?? 0;
    }
    return { type: 'statusCounters', firstIndex: this.spec.firstIndex, uids, current, acked };
  }

  // ------------------------------------------------------ remote config

  recordApplied(index: number, state: RemoteConfigState): void {
    if (!state.hash) return;
    const hex = Buffer.from(state.hash.buffer, state.hash.byteOffset, state.hash.byteLength).toString('hex');
    let id = this.hashIds.get(hex);
    if (id === undefined) {
      id = this.hashIds.size;
      this.hashIds.set(hex, id);
      this.newHashes.push(hex);
    }
    this.appliedIndex.push(index);
    this.appliedHash.push(id);
    this.appliedStatus.push(state.status);
    this.appliedAt.push(Date.now());
    if (!this.appliedTimer && !this.stopping) this.appliedTimer = setTimeout(() => this.flushApplied(), APPLIED_FLUSH_MS);
  }

  private flushApplied(): void {
    if (this.appliedTimer) clearTimeout(this.appliedTimer);
    this.appliedTimer = undefined;
    if (this.appliedIndex.length === 0) return;
    const batch: WorkerApplied = {
      type: 'applied',
      newHashes: this.newHashes,
      index: Int32Array.from(this.appliedIndex),
      hashId: Int32Array.from(this.appliedHash),
      status: Uint8Array.from(this.appliedStatus),
      at: Float64Array.from(this.appliedAt),
    };
    this.newHashes = [];
    this.appliedIndex = [];
    this.appliedHash = [];
    this.appliedStatus = [];
    this.appliedAt = [];
    this.send(batch);
  }

  // -------------------------------------------------------------- stats

  stats(type: 'stats' | 'stopped'): WorkerStats {
    let connected = 0;
    let sent = 0;
    let received = 0;
    for (const agent of this.agents) {
      if (agent.connected) connected++;
      sent += agent.sent;
      received += agent.receivedCount;
    }
    const memory = process.memoryUsage();
    return {
      type,
      at: Date.now(),
      started: this.agents.length,
      connected,
      sent,
      received,
      restarts: this.restarts,
      healthFlaps: this.healthFlaps,
      unhealthy: this.unhealthy.length,
      errors: { ...this.errors },
      errorSamples: this.errorSamples.snapshot(),
      connectionSettings: { ...this.connectionSettings },
      packages: { ...this.packages },
      packageInstallMs: this.packageInstallMs.drain(),
      connectMs: this.connectMs.drain(),
      reconnectMs: this.reconnectMs.drain(),
      rampDoneAt: this.rampDoneAt,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
    };
  }
}

/** The capabilities asked for (default the simulator's), plus what the settings add. */
function withExtras(capabilities: number | undefined, extras: number): number | undefined {
  return extras === 0 ? capabilities : (capabilities ?? DEFAULT_AGENT_CAPABILITIES) | extras;
}
