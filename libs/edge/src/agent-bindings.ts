/**
 * Which agent is on which connection here, under which lease: binding an
 * agent takes its connection lease (fencing epoch) and tells a previous owner
 * to let go; every inbound envelope of the agent waits for that epoch and goes
 * to the sink in order; unbinding reports the disconnect and releases the
 * lease while it is still this connection's.
 */
import { AgentInboundCodec, fleet, GatewayPushCodec } from '@opamp/contracts';
import type { AgentBinding, ConnectionContext, EdgeLog } from './edge-connection';
import type { EdgeMetrics } from './edge-metrics';
import { EDGE_DEFAULTS } from './edge-defaults';
import type { EdgeDependencies, EdgeOptions } from './edge-options';
import { parseTraceParent, type TraceSpan } from '@opamp/tracing';

/** How the inbound stream names the kind of credential a connection was admitted with. */
const CREDENTIAL_KINDS = {
  enrollment: fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT,
  agent: fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT,
  certificate: fleet.v1.CredentialKind.CREDENTIAL_KIND_CERTIFICATE,
} as const;

export class AgentBindings {
  private readonly registry = new Map<string, AgentBinding>();
  private readonly leaseRefreshAfterMs: number;
  private readonly leaseRetryDelaysMs: readonly number[];

  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: EdgeDependencies,
    private readonly metrics: EdgeMetrics,
    private readonly now: () => number,
    private readonly log: EdgeLog,
    /** Where a takeover notice for a connection of this very gateway goes. */
    private readonly localPush: (payload: Buffer) => void,
  ) {
    this.leaseRefreshAfterMs = options.leaseRefreshAfterMs ?? 30_000;
    this.leaseRetryDelaysMs = options.leaseAcquireRetryDelaysMs ?? EDGE_DEFAULTS.leaseAcquireRetryDelaysMs;
  }

  find(tenantId: string, uidHex: string): AgentBinding | undefined {
    return this.registry.get(this.registryKey(tenantId, uidHex));
  }

  /** The tenant of every agent bound here (one entry per agent), for the per-tenant gauge. */
  *tenants(): Iterable<string> {
    for (const binding of this.registry.values()) yield binding.tenantId;
  }

  private registryKey(tenantId: string, uidHex: string): string {
    return `${tenantId}/${uidHex}`;
  }

  /**
   * Binds an agent to a connection and takes its lease. Exclusive (enrollment
   * tokens): a lease another connection holds is not taken over; the binding
   * is marked `duplicate`, its envelopes dropped, and `onDuplicate` told.
   */
  bind(conn: ConnectionContext, key: Buffer, uidHex: string, exclusive = false, onDuplicate?: (binding: AgentBinding) => void): AgentBinding {
    const binding: AgentBinding = {
      tenantId: conn.tenantId,
      uidHex,
      key,
      connection: conn,
      epoch: 0,
      leaseReady: false,
      leaseFailed: false,
      waiting: [],
      lastRefreshAt: this.now(),
    };
    conn.bindings.set(uidHex, binding);
    const rk = this.registryKey(conn.tenantId, uidHex);
    const earlier = this.registry.get(rk);
    this.registry.set(rk, binding);
    if (conn.transport === 'ws') {
      this.emit(binding, (epoch) =>
        this.envelope(conn, epoch, { connected: { remoteAddress: conn.remoteAddress, userAgent: conn.userAgent } }),
      );
    }
    const ownHolderIsGone = (holder: { gatewayId: string; connectionId: string } | null) =>
      holder !== null &&
      holder.gatewayId === this.options.gatewayId &&
      !(earlier && earlier.connection.connectionId === holder.connectionId && !earlier.connection.closed);
    const acquire = async () => {
      const first = await this.deps.leases.acquire(conn.tenantId, uidHex, this.options.gatewayId, conn.connectionId, exclusive);
      // A lease this very gateway holds for a connection it no longer has is not live.
      if (first.refused && ownHolderIsGone(first.previous)) return this.deps.leases.acquire(conn.tenantId, uidHex, this.options.gatewayId, conn.connectionId, false);
      return first;
    };
    // Redis not answering in time is tried again while the connection lasts (EDGE_DEFAULTS says why).
    const acquireWithRetries = async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await acquire();
        } catch (err) {
          const delay = this.leaseRetryDelaysMs[attempt];
          if (delay === undefined || conn.closed) throw err;
          this.metrics.leaseRetries.inc();
          await new Promise<void>((resolve) => setTimeout(resolve, delay).unref());
        }
      }
    };
    acquireWithRetries().then(
      ({ lease, previous, refused }) => {
        if (refused) {
          // The live binding stays the one pushes reach.
          if (this.registry.get(rk) === binding) {
            if (earlier) this.registry.set(rk, earlier);
            else this.registry.delete(rk);
          }
          binding.leaseFailed = true;
          binding.duplicate = true;
          const waiting = binding.waiting;
          binding.waiting = [];
          for (const w of waiting) w.done(Promise.resolve());
          this.metrics.reject('duplicate_connection');
          this.refused(conn, key, fleet.v1.RefusalReason.REFUSAL_REASON_DUPLICATE_CONNECTION, 'a second live connection claimed this instance_uid under an enrollment token');
          onDuplicate?.(binding);
          binding.wake?.();
          return;
        }
        if (previous && previous.connectionId !== conn.connectionId) this.noticeTakeover(binding, previous);
        binding.epoch = lease.epoch;
        binding.leaseReady = true;
        const waiting = binding.waiting;
        binding.waiting = [];
        for (const w of waiting) w.done(w.build ? this.sendEnvelope(binding.key, w.build(lease.epoch)) : Promise.resolve());
      },
      (err: unknown) => {
        // Without a lease there is no epoch to fence with: this agent cannot be served here now.
        binding.leaseFailed = true;
        const waiting = binding.waiting;
        binding.waiting = [];
        for (const w of waiting) w.done(Promise.resolve());
        this.metrics.leaseFailures.inc();
        this.log('error', 'cannot take a connection lease', { instance_uid: uidHex, error: String(err) });
        if (conn.ws && !conn.closed) conn.ws.end(1013, 'try again later');
        binding.wake?.();
      },
    );
    return binding;
  }

  /**
   * Reports a refusal on the agent's ordered stream (for the audit log and
   * the agent's record); it holds no lease, so it carries epoch 0.
   */
  refused(conn: ConnectionContext, key: Buffer, reason: fleet.v1.RefusalReason, detail: string): void {
    void this.sendEnvelope(key, this.envelope(conn, 0, { refused: { reason, detail } }));
  }

  /** Tells the previous owner of this agent's lease to let its connection go. */
  private noticeTakeover(binding: AgentBinding, previous: { gatewayId: string; connectionId: string; epoch: number }): void {
    const notice = GatewayPushCodec.encode({
      tenantId: binding.tenantId,
      instanceUid: binding.key,
      connectionId: previous.connectionId,
      epoch: previous.epoch,
      takeover: true,
    });
    if (previous.gatewayId === this.options.gatewayId) {
      this.localPush(notice);
      return;
    }
    this.deps.peers.publish(previous.gatewayId, notice).catch(() => this.metrics.leaseFailures.inc());
  }

  unbind(binding: AgentBinding, reason: fleet.v1.DisconnectReason, releaseLease: boolean): void {
    const conn = binding.connection;
    conn.bindings.delete(binding.uidHex);
    const rk = this.registryKey(binding.tenantId, binding.uidHex);
    if (this.registry.get(rk) === binding) this.registry.delete(rk);
    if (conn.transport === 'ws') this.emit(binding, (epoch) => this.envelope(conn, epoch, { disconnected: { reason } }));
    if (!releaseLease) return;
    const release = () => {
      if (!binding.leaseReady) return;
      const lease = { gatewayId: this.options.gatewayId, connectionId: conn.connectionId, epoch: binding.epoch };
      this.deps.leases.release(binding.tenantId, binding.uidHex, lease).catch(() => this.metrics.leaseFailures.inc());
    };
    if (binding.leaseReady || binding.leaseFailed) release();
    // The lease is still on its way: release it once it has arrived and the queued envelopes are out.
    else binding.waiting.push({ build: null, done: () => release() });
  }

  maybeRefreshLease(binding: AgentBinding): void {
    if (!binding.leaseReady) return;
    const now = this.now();
    if (now - binding.lastRefreshAt < this.leaseRefreshAfterMs) return;
    binding.lastRefreshAt = now;
    const lease = { gatewayId: this.options.gatewayId, connectionId: binding.connection.connectionId, epoch: binding.epoch };
    this.deps.leases.refresh(binding.tenantId, binding.uidHex, lease).then(
      (stillOurs) => {
        // Another connection took this agent over: it now owns pushes; this one only reports.
        if (!stillOurs) this.metrics.leaseFailures.inc();
      },
      () => this.metrics.leaseFailures.inc(),
    );
  }

  envelope(conn: ConnectionContext, epoch: number, event: Partial<fleet.v1.IAgentInbound>): fleet.v1.IAgentInbound {
    return {
      tenantId: conn.tenantId,
      gatewayId: this.options.gatewayId,
      connectionId: conn.connectionId,
      epoch,
      transport:
        conn.transport === 'ws' ? fleet.v1.Transport.TRANSPORT_WEBSOCKET : fleet.v1.Transport.TRANSPORT_HTTP,
      receivedAtUnixMs: this.now(),
      clientIdentity: conn.clientIdentity,
      credentialId: conn.credential.tokenId,
      credentialKind: CREDENTIAL_KINDS[conn.credential.kind ?? 'enrollment'],
      ...event,
    };
  }

  /**
   * The span of an agent's message here (issue 21): it continues the trace of
   * the push the agent last got on this connection (its answer to it), else
   * starts a new trace at the sample ratio; null (the common case) costs
   * nothing more. The caller ends it once the message is on the bus.
   */
  startReceive(binding: AgentBinding): TraceSpan | null {
    const tracing = this.deps.tracing;
    if (!tracing?.enabled) return null;
    const parent = binding.traceParent;
    binding.traceParent = undefined;
    const attributes = {
      'opamp.tenant': binding.tenantId,
      'opamp.instance_uid': binding.uidHex,
      'opamp.gateway': this.options.gatewayId,
      'opamp.transport': binding.connection.transport,
    };
    return tracing.continueFrom(parent, 'opamp.receive', attributes, 'server') ?? tracing.startSampled('opamp.receive', attributes);
  }

  /** Sends now if the epoch is known, else queues behind the lease, keeping order. */
  emit(binding: AgentBinding, build: (epoch: number) => fleet.v1.IAgentInbound): Promise<void> {
    if (binding.leaseFailed) return Promise.resolve();
    if (binding.leaseReady && binding.waiting.length === 0) return this.sendEnvelope(binding.key, build(binding.epoch));
    return new Promise<void>((resolve) => {
      binding.waiting.push({ build, done: (sent) => void sent.then(resolve) });
    });
  }

  private sendEnvelope(key: Buffer, env: fleet.v1.IAgentInbound): Promise<void> {
    const started = process.hrtime.bigint();
    return this.deps.inbound.send(key, AgentInboundCodec.encode(env)).then(
      () => {
        this.metrics.produceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      },
      (err: unknown) => {
        // The agent's next message shows a sequence gap, and ingest asks it for full state.
        this.metrics.produceFailures.inc();
        const traceId = parseTraceParent(env.traceParent)?.traceId;
        this.log('error', 'inbound envelope was not stored', { instance_uid: key.toString('hex'), ...(traceId ? { trace_id: traceId } : {}), error: String(err) });
      },
    );
  }
}
