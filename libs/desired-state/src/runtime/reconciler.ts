/**
 * The reconciler: level-triggered, hashes only. For each agent it resolves the
 * desired configuration (highest-priority matching assignment), renders it for
 * the agent, decides with the pure core whether to push, pushes through the
 * owning gateway and records the decision (desired hash, last sent hash, why
 * not sent). Driven by agent events from Kafka and by re-evaluations after a
 * desired-state change, which walk the affected agents in keyset pages. A
 * re-evaluation the API records is a durable job (store/reevaluation-job.repository.ts):
 * the reconciler holding its lease advances its cursor after every page, and
 * unfinished jobs (a crash mid-way) are resumed from their cursor at start and
 * by the periodic sweep once their lease expired.
 */
import { randomBytes } from 'node:crypto';
import { AgentEventCodec, EnvelopeDecodeError, type fleet } from '@opamp/contracts';
import {
  AGENT_ROW_WAIT_MS,
  MAX_RENDER_SLICE_MS,
  decideRemoteConfig,
  desiredSinceMs,
  isTimedApply,
  parseSelector,
  pinnedVersion,
  remoteConfigMessage,
  renderForAgent,
  resolveAssignment,
  sendConnection,
  selectorToSql,
  type ConfigurationVersion,
  type RenderOutcome,
  type RolloutPin,
} from '../core';
import { ServerTracing, type TraceSpan } from '@opamp/tracing';
import { AgentPushDispatcher, type PushTarget } from '../store/agent-push.dispatcher';
import { EventLoopSlice } from '@opamp/process-runtime';
import { ReconcileLatency, type ReconcileTrigger } from './reconcile-latency.metrics';
import {
  assignedVersion,
  toBuffer,
  versionKey,
  type AgentRow,
  type AgentStateWrite,
  type AppliedReport,
  type DesiredStateRepository,
  type SendClaim,
  type TenantSnapshot,
} from '../store/desired-state.repository';
import { ReevaluationJobRepository, type ReevaluationJob } from '../store/reevaluation-job.repository';

export interface ReconcileAgent {
  readonly tenantId: string;
  readonly instanceUid: Buffer;
  readonly capabilities: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly reportedHash: Buffer | null;
  readonly reportedStatus: number;
  readonly target: PushTarget;
  readonly availableComponentsHash: Buffer | null;
  /** When the state in this event was received (0 = unknown, e.g. read from the table). */
  readonly occurredAtMs: number;
  /** The span reconciling this agent when its event was traced (issue 21): its pushes carry it. */
  traceParent?: string;
}

export interface ReconcilerMetrics {
  events: number;
  /** Records whose batch was fully handled (decided, pushed, recorded). */
  eventsHandled: number;
  decodeErrors: number;
  agentsEvaluated: number;
  configsPushed: number;
  notSent: number;
  pushErrors: number;
  /** Pushes decided here that another reconciler had already claimed (sent). */
  sendsNotClaimed: number;
  /** Resends left out: the same hash went to the same connection within CONFIG_STATUS_WAIT_MS, its status not yet in. */
  sendsAwaitingStatus: number;
  /** Agents whose recorded decision (desired config, reason, last sent) changed. */
  decisionsChanged: number;
  /** Turns the event loop got in the middle of rendering a page (MAX_RENDER_SLICE_MS used up). */
  renderTurns: number;
  /** Re-evaluation pages and agents worked (durable jobs and in-memory re-evaluations). */
  reevaluationPages: number;
  reevaluationAgents: number;
  reevaluationJobsFinished: number;
  /** Jobs this reconciler took over with a cursor another left behind (crash, lost lease). */
  reevaluationJobsResumed: number;
  /** Agents of events whose row was not visible yet (their ingest transaction still committing): waited for. */
  agentRowsAwaited: number;
  /** Of those, agents whose row did not appear within AGENT_ROW_WAIT_MS (taken as deleted). */
  agentRowsMissing: number;
}

export interface ReconcilerOptions {
  /** Agents per re-evaluation page (default 500). */
  pageSize?: number;
  /** Pushes in flight at once within a page (default 100). */
  pushConcurrency?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
  /** Who holds re-evaluation job leases (default: a random id). */
  workerId?: string;
  /** How long a re-evaluation job's lease lasts without a page done (default 30 s). */
  jobLeaseMs?: number;
  /** Called after each page of a re-evaluation job is recorded (progress logs, tests). */
  onJobPage?: (job: ReevaluationJob, page: { cursor: Buffer; agents: number }) => void;
  /**
   * Agents whose state as the API shows it changed: every agent of an event,
   * and agents whose decision changed (the watch feed: api/agent-watch).
   */
  onAgentsChanged?: (tenantId: string, uids: readonly Buffer[]) => void;
  /** This process's traces: a traced agent event gets a span, its pushes carry it (default off). */
  tracing?: ServerTracing;
  /** How long an event waits for its agent's row (default AGENT_ROW_WAIT_MS). */
  agentRowWaitMs?: number;
}

const COMPONENT_CACHE_MAX = 1000;
const NOT_ACCEPTED = 'the agent does not accept remote configuration (AcceptsRemoteConfig not set)';

export class Reconciler {
  readonly metrics: ReconcilerMetrics = {
    events: 0,
    eventsHandled: 0,
    decodeErrors: 0,
    agentsEvaluated: 0,
    configsPushed: 0,
    notSent: 0,
    pushErrors: 0,
    sendsNotClaimed: 0,
    sendsAwaitingStatus: 0,
    decisionsChanged: 0,
    renderTurns: 0,
    reevaluationPages: 0,
    reevaluationAgents: 0,
    reevaluationJobsFinished: 0,
    reevaluationJobsResumed: 0,
    agentRowsAwaited: 0,
    agentRowsMissing: 0,
  };
  /** Push latency and reconcile duration histograms (registered by config-service.metrics.ts). */
  readonly latency = new ReconcileLatency();
  readonly workerId: string;
  readonly jobs: ReevaluationJobRepository;
  private readonly snapshots = new Map<string, TenantSnapshot>();
  private readonly components = new Map<string, unknown>();
  private readonly renderCache = new Map<string, RenderOutcome>();
  private readonly reevaluations = new Map<string, Promise<void>>();
  private readonly pageSize: number;
  private readonly pushConcurrency: number;
  private readonly jobLeaseMs: number;
  private jobsHalted = false;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: DesiredStateRepository,
    private readonly dispatcher: AgentPushDispatcher,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
    this.pushConcurrency = options.pushConcurrency ?? 100;
    this.jobLeaseMs = options.jobLeaseMs ?? 30_000;
    this.workerId = options.workerId ?? `reconciler-${randomBytes(6).toString('hex')}`;
    this.jobs = new ReevaluationJobRepository(repo.db);
  }

  /** Handles one Kafka batch of AgentEvent records (latest event per agent wins). */
  async handleEventRecords(values: ReadonlyArray<Buffer | null>): Promise<void> {
    const latest = new Map<string, fleet.v1.AgentEvent>();
    for (const value of values) {
      if (!value) continue;
      this.metrics.events++;
      let event: fleet.v1.AgentEvent;
      try {
        event = AgentEventCodec.decode(value);
      } catch (err) {
        if (err instanceof EnvelopeDecodeError) {
          this.metrics.decodeErrors++;
          continue;
        }
        throw err;
      }
      if (!event.tenantId || event.instanceUid?.length !== 16) {
        this.metrics.decodeErrors++;
        continue;
      }
      const key = `${event.tenantId}/${Buffer.from(event.instanceUid).toString('hex')}`;
      // The first event of a new uid says which uid it replaced; a later event of the same uid in this
      // batch must not drop that, or the state and rollout place of the old uid would never follow it.
      const earlier = latest.get(key);
      if (earlier?.previousInstanceUid?.length && !event.previousInstanceUid?.length) event.previousInstanceUid = earlier.previousInstanceUid;
      latest.set(key, event);
    }
    const byTenant = new Map<string, fleet.v1.AgentEvent[]>();
    for (const e of latest.values()) {
      const list = byTenant.get(e.tenantId) ?? [];
      list.push(e);
      byTenant.set(e.tenantId, list);
    }
    const tracing = this.options.tracing ?? ServerTracing.off;
    const spans: TraceSpan[] = [];
    try {
      const revisions = await this.repo.revisions([...byTenant.keys()]);
      for (const [tenantId, events] of byTenant) {
        for (const e of events) {
          const prev = toBuffer(e.previousInstanceUid);
          if (prev && prev.length === 16) await this.repo.moveAgentState(tenantId, prev, Buffer.from(e.instanceUid));
        }
        await this.awaitAgentRows(tenantId, events);
        const snapshot = await this.snapshot(tenantId, revisions.get(tenantId) ?? 0);
        const agents = events.map((e) => {
          const agent = eventToAgent(e);
          const span = tracing.continueFrom(e.traceParent, 'config.reconcile', { 'opamp.tenant': tenantId, 'opamp.instance_uid': agent.instanceUid.toString('hex') });
          if (span) {
            spans.push(span);
            agent.traceParent = span.traceParent;
          }
          return agent;
        });
        await this.reconcile(snapshot, agents, false, 'event');
        this.options.onAgentsChanged?.(tenantId, agents.map((a) => a.instanceUid));
      }
    } catch (err) {
      for (const span of spans) span.fail(err);
      throw err;
    } finally {
      for (const span of spans) span.end();
    }
    this.metrics.eventsHandled += values.length;
  }

  /**
   * Waits, within AGENT_ROW_WAIT_MS, until every new agent's row is visible: an event can
   * arrive before the transaction that wrote its row commits (limits.ts). The batch waits rather
   * than deferring the agents, so its offsets stay uncommitted until they are decided.
   */
  private async awaitAgentRows(tenantId: string, events: readonly fleet.v1.AgentEvent[]): Promise<void> {
    // Only a row's first version can be invisible: a later one's previous version is there to decide on.
    const fresh = events.filter((e) => Number(e.recordVersion ?? 0) <= 1);
    if (fresh.length === 0) return;
    let missing = await this.repo.missingAgents(tenantId, fresh.map((e) => Buffer.from(e.instanceUid)));
    if (missing.length === 0) return;
    this.metrics.agentRowsAwaited += missing.length;
    const deadline = Date.now() + (this.options.agentRowWaitMs ?? AGENT_ROW_WAIT_MS);
    for (let delayMs = 10; missing.length > 0 && Date.now() < deadline; delayMs = Math.min(delayMs * 2, 250)) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      missing = await this.repo.missingAgents(tenantId, missing);
    }
    this.metrics.agentRowsMissing += missing.length;
  }

  /**
   * Re-evaluates a tenant's agents after a desired-state change: those
   * matching any of `selectors` (all agents when omitted), page by page.
   * Re-evaluations of one tenant run one after another.
   */
  reevaluate(tenantId: string, selectors?: readonly string[]): Promise<void> {
    const previous = this.reevaluations.get(tenantId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.reevaluateNow(tenantId, selectors))
      .catch((err: unknown) => this.options.log?.('error', `re-evaluation of tenant ${tenantId} failed: ${String(err)}`));
    this.reevaluations.set(tenantId, next);
    void next.finally(() => {
      if (this.reevaluations.get(tenantId) === next) this.reevaluations.delete(tenantId);
    });
    return next;
  }

  /**
   * Reconciles the given agents of a tenant now (the rollout driver, after it
   * moved them). With `onlyUnsent`, an agent is not pushed a hash this server
   * already sent it: a driver taking over a rollout repeats nothing.
   */
  async reconcileAgents(tenantId: string, uids: readonly Buffer[], options: { onlyUnsent?: boolean; traceParent?: string } = {}): Promise<void> {
    if (uids.length === 0) return;
    const revisions = await this.repo.revisions([tenantId]);
    const snapshot = await this.snapshot(tenantId, revisions.get(tenantId) ?? 0);
    const traceParent = options.traceParent;
    for (let i = 0; i < uids.length; i += this.pageSize) {
      const page = await this.repo.agentsPage(tenantId, null, this.pageSize, 'a.instance_uid = ANY($1::bytea[])', [uids.slice(i, i + this.pageSize)]);
      await this.reconcile(snapshot, rowsToAgents(page, traceParent), options.onlyUnsent === true, 'rollout');
    }
  }

  /** Resolves when every re-evaluation started so far has finished. */
  async idle(): Promise<void> {
    while (this.reevaluations.size > 0) await Promise.all(this.reevaluations.values());
  }

  private async reevaluateNow(tenantId: string, selectors?: readonly string[]): Promise<void> {
    if (selectors && selectors.length === 0) return;
    this.snapshots.delete(tenantId);
    let after: Buffer | null = null;
    for (;;) {
      const page = await this.reevaluatePage(tenantId, selectors ?? null, after);
      if (page.cursor === null) break;
      after = page.cursor;
    }
  }

  /** Reconciles the next page of agents after `after`; cursor null when there was none left. */
  private async reevaluatePage(tenantId: string, selectors: readonly string[] | null, after: Buffer | null, traceParent?: string): Promise<{ cursor: Buffer | null; agents: number }> {
    let where = 'TRUE';
    const params: unknown[] = [];
    if (selectors) {
      if (selectors.length === 0) return { cursor: null, agents: 0 };
      const parts: string[] = [];
      for (const text of selectors) {
        const sql = selectorToSql(parseSelector(text), 'a.labels', params.length);
        params.push(...sql.params);
        parts.push(`(${sql.sql})`);
      }
      where = parts.join(' OR ');
    }
    const page: AgentRow[] = await this.repo.agentsPage(tenantId, after, this.pageSize, where, params);
    if (page.length === 0) return { cursor: null, agents: 0 };
    // The current revision per page: a change made meanwhile is seen by the pages still to come.
    const revisions = await this.repo.revisions([tenantId]);
    const snapshot = await this.snapshot(tenantId, revisions.get(tenantId) ?? 0);
    await this.reconcile(snapshot, rowsToAgents(page, traceParent), false, 'reevaluation');
    this.metrics.reevaluationPages++;
    this.metrics.reevaluationAgents += page.length;
    return { cursor: page.length < this.pageSize ? null : page[page.length - 1].instanceUid, agents: page.length };
  }

  // --- durable re-evaluation jobs -------------------------------------------------------

  /**
   * Works the re-evaluation jobs that are free (of one tenant, or of all):
   * claims one, works it page by page, and goes on until none is left to
   * claim. Runs after the runs started before it for the same key, so
   * `idle()` waits for it.
   */
  runJobs(tenantId: string | null = null): Promise<void> {
    const key = `jobs:${tenantId ?? '*'}`;
    const previous = this.reevaluations.get(key) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.workJobs(tenantId))
      .catch((err: unknown) => this.options.log?.('error', `re-evaluation jobs${tenantId ? ` of tenant ${tenantId}` : ''} failed: ${String(err)}`));
    this.reevaluations.set(key, next);
    void next.finally(() => {
      if (this.reevaluations.get(key) === next) this.reevaluations.delete(key);
    });
    return next;
  }

  /** Resumes unfinished jobs now and then every `intervalMs` (jobs whose lease expired: a crashed replica's). */
  startJobs(intervalMs: number = Math.min(5_000, Math.max(50, Math.floor(this.jobLeaseMs / 3)))): void {
    this.jobsHalted = false;
    void this.runJobs();
    this.sweepTimer ??= setInterval(() => {
      if (!this.reevaluations.has('jobs:*')) void this.runJobs();
    }, intervalMs);
    this.sweepTimer.unref?.();
  }

  /**
   * Stops working jobs after the page in progress. With `releaseLeases` the
   * jobs are handed back at once (graceful stop); without, they stay leased
   * until the lease expires, as after a crash.
   */
  async stopJobs(options: { releaseLeases?: boolean } = {}): Promise<void> {
    this.haltJobs();
    await this.idle();
    if (options.releaseLeases) await this.jobs.release(this.workerId);
  }

  /** Stops taking pages of jobs (synchronous: the page in progress finishes, its cursor is recorded). */
  haltJobs(): void {
    this.jobsHalted = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private async workJobs(tenantId: string | null): Promise<void> {
    while (!this.jobsHalted) {
      const job = await this.jobs.claim(this.workerId, this.jobLeaseMs, tenantId);
      if (!job) return;
      if (job.cursor !== null) this.metrics.reevaluationJobsResumed++;
      await this.workJob(job);
    }
  }

  private async workJob(job: ReevaluationJob): Promise<void> {
    this.snapshots.delete(job.tenantId);
    let after = job.cursor;
    const tracing = this.options.tracing ?? ServerTracing.off;
    for (;;) {
      if (this.jobsHalted) return;
      // A job an API call recorded continues its trace, page by page (issue 21).
      const span = tracing.continueFrom(job.traceParent, 'config.reevaluate', { 'opamp.tenant': job.tenantId, 'opamp.reason': job.reason });
      let page: { cursor: Buffer | null; agents: number };
      try {
        page = await this.reevaluatePage(job.tenantId, job.selectors, after, span?.traceParent);
        span?.setAttributes({ 'opamp.agents': page.agents });
      } catch (err) {
        span?.fail(err);
        throw err;
      } finally {
        span?.end();
      }
      const cursor = page.cursor;
      if (cursor === null) break;
      if (!(await this.jobs.advance(job.id, this.workerId, cursor, page.agents, this.jobLeaseMs))) {
        this.options.log?.('warn', `re-evaluation job ${job.id} was taken over by another reconciler`);
        return;
      }
      this.options.onJobPage?.(job, { cursor, agents: page.agents });
      after = cursor;
    }
    if (await this.jobs.finish(job.id, this.workerId)) this.metrics.reevaluationJobsFinished++;
  }

  private async snapshot(tenantId: string, revision: number): Promise<TenantSnapshot> {
    const cached = this.snapshots.get(tenantId);
    if (cached && cached.revision === revision) return cached;
    const fresh = await this.repo.loadSnapshot(tenantId);
    this.snapshots.set(tenantId, fresh);
    if (this.renderCache.size > 10_000) this.renderCache.clear();
    return fresh;
  }

  /** A version a rollout pins agents to: in the snapshot, else (a rollout started after it was loaded) from the database. */
  private async pinnedVersionOf(snapshot: TenantSnapshot, name: string, version: number): Promise<ConfigurationVersion | null> {
    const key = versionKey(name, version);
    const known = snapshot.versions.get(key);
    if (known) return known;
    const loaded = await this.repo.loadVersion(snapshot.tenantId, name, version);
    if (loaded) (snapshot.versions as Map<string, ConfigurationVersion>).set(key, loaded);
    return loaded;
  }

  private async componentsFor(agents: readonly ReconcileAgent[]): Promise<void> {
    const missing = new Map<string, Buffer>();
    for (const a of agents) {
      const h = a.availableComponentsHash;
      if (h && h.length > 0 && !this.components.has(h.toString('hex'))) missing.set(h.toString('hex'), h);
    }
    if (missing.size === 0) return;
    const found = await this.repo.availableComponents([...missing.values()]);
    if (this.components.size + found.size > COMPONENT_CACHE_MAX) this.components.clear();
    for (const [hex, components] of found) this.components.set(hex, components);
  }

  private render(version: ConfigurationVersion, agent: ReconcileAgent): RenderOutcome {
    const componentsHex = agent.availableComponentsHash?.length ? agent.availableComponentsHash.toString('hex') : '';
    const availableComponents = componentsHex ? this.components.get(componentsHex) : undefined;
    const facts = { attributes: agent.labels, instanceUidHex: agent.instanceUid.toString('hex'), availableComponents };
    if (version.templated) return renderForAgent(version, facts);
    const key = `${version.tenantId}/${version.name}@${version.version}/${version.contentHash.toString('hex')}#${availableComponents ? componentsHex : ''}`;
    let out = this.renderCache.get(key);
    if (!out) {
      out = renderForAgent(version, facts);
      this.renderCache.set(key, out);
    }
    return out;
  }

  /** Decides and pushes for a set of agents of one tenant, then records the decisions in one write. */
  private async reconcile(snapshot: TenantSnapshot, agents: readonly ReconcileAgent[], onlyUnsent: boolean, trigger: ReconcileTrigger): Promise<void> {
    if (agents.length === 0) return;
    const endTimer = this.latency.reconcileSeconds.startTimer({ trigger });
    try {
      await this.reconcileSet(snapshot, agents, onlyUnsent, trigger !== 'event');
    } finally {
      endTimer();
    }
  }

  private async reconcileSet(snapshot: TenantSnapshot, agents: readonly ReconcileAgent[], onlyUnsent: boolean, changeDriven: boolean): Promise<void> {
    await this.componentsFor(agents);
    const uids = agents.map((a) => a.instanceUid);
    const states = await this.repo.agentStates(snapshot.tenantId, uids);
    // Agents a rollout has moved get the rollout's version (core/rollout.ts pinnedVersion). Read live, not
    // from the snapshot: a long re-evaluation must not undo a batch the driver moved meanwhile.
    const pins: ReadonlyMap<string, RolloutPin> = await this.repo.rolloutPins(snapshot.tenantId, uids);
    const writes: AgentStateWrite[] = [];
    const applied: AppliedReport[] = [];
    const sends: Array<{ claim: SendClaim; push: () => Promise<void> }> = [];
    const slice = new EventLoopSlice(MAX_RENDER_SLICE_MS);
    for (const agent of agents) {
      this.metrics.agentsEvaluated++;
      const write: AgentStateWrite = {
        instanceUid: agent.instanceUid,
        configurationName: null,
        configurationVersion: null,
        desiredHash: null,
        notSentReason: null,
        sentHash: null,
        desiredSinceMs: null,
      };
      writes.push(write);
      const assignment = resolveAssignment(snapshot.assignments, agent.labels);
      if (!assignment) continue;
      write.configurationName = assignment.configurationName;
      const pin = pins.get(agent.instanceUid.toString('hex'));
      const pinned = pinnedVersion(assignment, pin);
      const version = pinned === null ? assignedVersion(snapshot, assignment) : await this.pinnedVersionOf(snapshot, assignment.configurationName, pinned);
      if (!version) {
        write.notSentReason = `configuration '${assignment.configurationName}' has no version ${assignment.pinnedVersion ?? ''}`.trim();
        this.metrics.notSent++;
        continue;
      }
      write.configurationVersion = version.version;
      const rendered = this.render(version, agent);
      // Rendering is linear but a page of large templates still adds up: let heartbeats through between agents.
      if (version.templated) {
        const turns = slice.turns;
        await slice.turn();
        this.metrics.renderTurns += slice.turns - turns;
      }
      if (!rendered.ok) {
        write.notSentReason = rendered.reason;
        this.metrics.notSent++;
        continue;
      }
      write.desiredHash = rendered.hash;
      const desired = { configurationName: version.name, version: version.version, files: rendered.files, hash: rendered.hash };
      const previous = states.get(agent.instanceUid.toString('hex'));
      write.desiredSinceMs = desiredSinceMs(previous ?? null, {
        configurationName: version.name,
        version: version.version,
        hash: rendered.hash,
        pinMovedAtMs: pinned !== null ? (pin?.movedAtMs ?? null) : null,
        revisionChangedAtMs: snapshot.changedAtMs,
        changeDriven,
      });
      if (isTimedApply(agent.reportedHash, agent.reportedStatus, rendered.hash, write.desiredSinceMs, previous?.appliedHash ?? null)) {
        applied.push({ instanceUid: agent.instanceUid, hash: rendered.hash });
      }
      const connection = sendConnection(agent.target);
      // The window is per connection: a hash sent to this connection is not sent again while its status is awaited.
      const decision = decideRemoteConfig(
        desired,
        {
          capabilities: agent.capabilities,
          reportedHash: agent.reportedHash,
          reportedStatus: agent.reportedStatus,
          lastSentHash: previous?.lastSentHash ?? null,
          lastSentConnection: previous?.lastSentConnection ?? null,
          lastSentAtMs: previous?.lastSentAtMs ?? null,
        },
        true,
        { connection, nowMs: Date.now() },
      );
      if (decision.reason === 'no_accepts_remote_config') {
        write.notSentReason = NOT_ACCEPTED;
        this.metrics.notSent++;
      }
      if (decision.reason === 'awaiting_status') this.metrics.sendsAwaitingStatus++;
      if (!decision.send) continue;
      sends.push({
        claim: {
          instanceUid: agent.instanceUid,
          hash: rendered.hash,
          // Events: resend the same hash only when the event is newer than the last send of it (unknown time: always).
          // Re-evaluations and the rollout driver: never the hash last sent.
          resendAfterMs: onlyUnsent || agent.occurredAtMs === 0 ? (onlyUnsent ? null : Number.POSITIVE_INFINITY) : agent.occurredAtMs,
          connection,
        },
        push: async () => {
          try {
            await this.dispatcher.push(snapshot.tenantId, agent.instanceUid, agent.target, 'remote_config', remoteConfigMessage(agent.instanceUid, desired), false, agent.traceParent);
            write.sentHash = rendered.hash;
            this.metrics.configsPushed++;
          } catch (err) {
            this.metrics.pushErrors++;
            this.options.log?.('warn', `push to ${agent.instanceUid.toString('hex')} failed: ${String(err)}`);
            await this.repo.unclaimSend(snapshot.tenantId, agent.instanceUid, rendered.hash, previous ?? null);
          }
        },
      });
    }
    // Claim each send in the database first: when several reconcilers (event path, re-evaluation, rollout
    // driver; any replica) decide the same push at once, one of them sends it.
    const claimed = await this.repo.claimSends(snapshot.tenantId, sends.map((x) => x.claim));
    const pushes = sends.filter((x) => claimed.has(x.claim.instanceUid.toString('hex'))).map((x) => x.push);
    this.metrics.sendsNotClaimed += sends.length - pushes.length;
    for (let i = 0; i < pushes.length; i += this.pushConcurrency) {
      await Promise.all(pushes.slice(i, i + this.pushConcurrency).map((p) => p()));
    }
    const changed = await this.repo.writeAgentStates(snapshot.tenantId, writes);
    this.metrics.decisionsChanged += changed.length;
    // After the write: a hash decided and applied in this same set is counted against its own row.
    for (const seconds of await this.repo.countApplied(snapshot.tenantId, applied)) this.latency.pushLatency.observe({ tenant: snapshot.tenantId }, seconds);
    if (changed.length > 0) this.options.onAgentsChanged?.(snapshot.tenantId, changed);
  }
}

function labelsOf(event: fleet.v1.AgentEvent): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of event.labels ?? []) if (l.key) labels[l.key] = l.value ?? '';
  return labels;
}

export function eventToAgent(e: fleet.v1.AgentEvent): ReconcileAgent {
  const owner = e.owner;
  return {
    tenantId: e.tenantId,
    instanceUid: Buffer.from(e.instanceUid),
    capabilities: Number(e.capabilities ?? 0),
    labels: labelsOf(e),
    reportedHash: e.reportedRemoteConfigHash?.length ? Buffer.from(e.reportedRemoteConfigHash) : null,
    reportedStatus: e.remoteConfigStatus ?? 0,
    target: {
      connected: owner?.connected === true,
      gatewayId: owner?.gatewayId || null,
      connectionId: owner?.connectionId ?? '',
      epoch: Number(owner?.epoch ?? 0),
      transport: owner?.transport ?? 0,
    },
    availableComponentsHash: e.availableComponentsHash?.length ? Buffer.from(e.availableComponentsHash) : null,
    occurredAtMs: Number(e.occurredAtUnixMs ?? 0),
  };
}

/** Rows as agents to reconcile; with `traceParent`, their pushes carry that trace. */
function rowsToAgents(rows: readonly AgentRow[], traceParent: string | undefined): ReconcileAgent[] {
  return rows.map((row) => (traceParent ? { ...rowToAgent(row), traceParent } : rowToAgent(row)));
}

export function rowToAgent(r: AgentRow): ReconcileAgent {
  return {
    tenantId: r.tenantId,
    instanceUid: r.instanceUid,
    capabilities: r.capabilities,
    labels: r.labels,
    reportedHash: r.remoteConfigHash,
    reportedStatus: r.remoteConfigStatus,
    target: { connected: r.connected, gatewayId: r.gatewayId, connectionId: r.connectionId ?? '', epoch: r.epoch, transport: r.transport },
    availableComponentsHash: r.availableComponentsHash,
    occurredAtMs: 0,
  };
}
