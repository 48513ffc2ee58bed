/**
 * The OpAMP edge: terminates agents' WebSockets and plain-HTTP requests on one
 * path with uWebSockets.js, answers every AgentToServer at once, streams every
 * message (and connect/disconnect) to the inbound sink in per-agent order, and
 * delivers workers' pushes to the connection they are fenced to.
 *
 * It owns no state that outlives it: connection ownership lives in the lease
 * store, everything else downstream. Kept free of any framework: this is the
 * hot path.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as uWS from 'uWebSockets.js';
import { AgentInboundCodec, fleet, GatewayPushCodec } from '@opamp/contracts';
import {
  badRequestReply,
  decodeAgentToServer,
  decodeRequestBody,
  decodeWsMessage,
  encodeResponseBody,
  encodeServerToAgent,
  encodeServerToAgentFrame,
  encodeWsPayload,
  httpStatusForError,
  isProtocolError,
  normalizeInstanceUid,
  opamp,
  parseContentEncoding,
  ProtocolError,
  type ProtocolErrorCode,
  unavailableReply,
} from '@opamp/protocol';
import type { AgentCredential } from './agent-token.authority';
import { EDGE_DEFAULTS } from './edge-defaults';
import type { InboundSink, LeaseStore, PeerGateways, PendingStore, PushInbox } from './edge-ports';
import { EdgeMetrics, type RejectionReason } from './edge-metrics';
import { ackReply, composeHttpReply, decodePendingItem, type PendingReplyItem } from './server-reply';
import { TokenBucket } from './token-bucket';

export const OPAMP_PATH = '/v1/opamp';
const PROTOBUF = 'application/x-protobuf';

/** Decides who may connect; answered from memory, no database round trip. */
export interface AgentAuthenticator {
  authenticate(authorization: string, apiKey: string): AgentCredential | null;
}

export interface EdgeOptions {
  gatewayId: string;
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | null;
  maxMessageBytes: number;
  wsCompression: boolean;
  messagesPerSecond: number;
  messageBurst: number;
  maxConnections: number;
  upgradesPerSecond: number;
  upgradeBurst: number;
  retryAfterRangeS: [number, number];
  httpPushWaitMs: number;
  idleTimeoutS: number;
  drainWindowMs: number;
  maxPendingInbound: number;
  /** Bytes waiting for the bus beyond which the edge stops admitting work. */
  maxPendingInboundBytes?: number;
  /** Refresh a lease when this much of its life has passed since the last refresh. */
  leaseRefreshAfterMs?: number;
  acceptLegacyUlid?: boolean;
  /**
   * mTLS terminated by a trusted proxy in front (uWebSockets.js here cannot
   * reject a connection on its client certificate nor read it): the verified
   * identity arrives in this header, believed only from these addresses.
   */
  clientIdentity?: { header: string; trustedProxies: readonly string[]; required: boolean } | null;
}

export interface EdgeDependencies {
  authenticator: AgentAuthenticator;
  inbound: InboundSink;
  leases: LeaseStore;
  pushes: PushInbox;
  pending: PendingStore;
  peers: PeerGateways;
  metrics?: EdgeMetrics;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

type Transport = 'ws' | 'http';

interface WaitingEnvelope {
  /** Null for a step that sends nothing (releasing the lease after the queued envelopes). */
  build: ((epoch: number) => fleet.v1.IAgentInbound) | null;
  /** Told when the envelope was handed to the sink (or dropped, with a resolved promise). */
  done: (sent: Promise<void>) => void;
}

/** One agent's association with one connection (a WS stream may carry several agents). */
interface AgentBinding {
  readonly tenantId: string;
  readonly uidHex: string;
  readonly key: Buffer;
  readonly connection: ConnectionContext;
  epoch: number;
  leaseReady: boolean;
  leaseFailed: boolean;
  /** Envelopes waiting for the lease (and its epoch) before they can be sent, in order. */
  waiting: WaitingEnvelope[];
  lastRefreshAt: number;
  /** Set for a plain-HTTP request that is waiting for pushes. */
  wake?: () => void;
  wakeItems?: PendingReplyItem[];
}

interface ConnectionContext {
  readonly connectionId: string;
  readonly transport: Transport;
  readonly tenantId: string;
  readonly tokenId: string;
  readonly remoteAddress: string;
  readonly userAgent: string;
  /** Verified client-certificate identity, when a trusted proxy passed one. */
  readonly clientIdentity: string;
  readonly bindings: Map<string, AgentBinding>;
  readonly bucket: TokenBucket | null;
  ws: uWS.WebSocket<ConnectionContext> | null;
  firstReplySent: boolean;
  closed: boolean;
}

function newConnectionId(): string {
  return randomBytes(9).toString('base64url');
}

function text(buf: ArrayBuffer): string {
  return Buffer.from(buf).toString();
}

function rejectionFor(code: ProtocolErrorCode): RejectionReason {
  switch (code) {
    case 'MALFORMED_FRAME':
      return 'malformed_frame';
    case 'INVALID_INSTANCE_UID':
      return 'invalid_instance_uid';
    case 'TOO_LARGE':
      return 'too_large';
    case 'UNSUPPORTED_ENCODING':
      return 'unsupported_media_type';
    case 'BAD_ENCODING':
      return 'bad_encoding';
    default:
      return 'malformed_protobuf';
  }
}

/** A classification of inbound messages for the metrics. */
function messageKind(msg: opamp.proto.v1.AgentToServer): string {
  if (msg.agentDisconnect) return 'disconnect';
  if (msg.agentDescription || msg.health || msg.effectiveConfig || msg.remoteConfigStatus || msg.packageStatuses) {
    return 'status';
  }
  if (msg.customMessage) return 'custom_message';
  if (msg.connectionSettingsRequest) return 'connection_settings_request';
  return 'heartbeat';
}

export class OpampEdgeServer {
  readonly metrics: EdgeMetrics;
  private readonly app: uWS.TemplatedApp;
  private listenSocket: uWS.us_listen_socket | null = null;
  private readonly registry = new Map<string, AgentBinding>();
  private readonly wsConnections = new Set<ConnectionContext>();
  private readonly upgradeBucket: TokenBucket;
  private readonly now: () => number;
  private readonly leaseRefreshAfterMs: number;
  private draining = false;
  private started = false;
  private boundPort = 0;

  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: EdgeDependencies,
  ) {
    this.metrics = deps.metrics ?? new EdgeMetrics({ gatewayId: options.gatewayId });
    this.now = deps.now ?? Date.now;
    this.leaseRefreshAfterMs = options.leaseRefreshAfterMs ?? 30_000;
    this.upgradeBucket = new TokenBucket(options.upgradesPerSecond, options.upgradeBurst, this.now);
    if (options.tls) {
      // Fail at start, not at the first handshake, when a file is missing.
      readFileSync(options.tls.certFile);
      readFileSync(options.tls.keyFile);
    }
    this.app = options.tls
      ? uWS.SSLApp({ cert_file_name: options.tls.certFile, key_file_name: options.tls.keyFile })
      : uWS.App();
    this.routes();
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** Ready for the load balancer: listening, not draining, and the bus keeps up. */
  get ready(): boolean {
    return this.started && !this.draining && !this.saturated();
  }

  /** True while the bus (Kafka) cannot take messages fast enough: admit no new work. */
  saturated(): boolean {
    const inbound = this.deps.inbound;
    return (
      inbound.backlog >= this.options.maxPendingInbound ||
      inbound.backlogBytes >= (this.options.maxPendingInboundBytes ?? EDGE_DEFAULTS.maxPendingInboundBytes)
    );
  }

  get connectionCount(): number {
    return this.wsConnections.size;
  }

  async start(): Promise<void> {
    await this.deps.pushes.start((payload) => this.onPush(payload));
    await new Promise<void>((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.options.host}:${this.options.port}`));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket);
        resolve();
      });
    });
    this.started = true;
  }

  /**
   * Graceful shutdown: stop accepting, then close connections spread over the
   * drain window (so agents do not reconnect elsewhere as one herd), then flush
   * what is still on its way to the bus. Leases are left to expire or be taken
   * over, so a late push stays fenced.
   */
  async drain(windowMs: number = this.options.drainWindowMs): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    const conns = [...this.wsConnections];
    const step = conns.length > 0 ? windowMs / conns.length : 0;
    await Promise.all(
      conns.map(
        (conn, i) =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!conn.closed && conn.ws) conn.ws.end(1001, 'gateway draining');
              resolve();
            }, Math.floor(i * step));
          }),
      ),
    );
    await this.deps.pushes.stop();
    await this.deps.inbound.close();
  }

  /** Ends every WebSocket opened with this credential (it was revoked): close 1008. */
  disconnectCredential(tenantId: string, tokenId: string): number {
    let closed = 0;
    for (const conn of this.wsConnections) {
      if (conn.tenantId === tenantId && conn.tokenId === tokenId && conn.ws && !conn.closed) {
        conn.ws.end(1008, 'credential revoked');
        closed++;
      }
    }
    return closed;
  }

  /** Immediate stop (tests, fatal errors): closes every socket without a drain window. */
  async close(): Promise<void> {
    await this.drain(0);
  }

  // ---------------------------------------------------------------- routes

  private routes(): void {
    const o = this.options;
    this.app.ws<ConnectionContext>(OPAMP_PATH, {
      compression: o.wsCompression ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
      // uWS force-closes (1006, no close frame) above its own limit. Giving it
      // room up to twice ours lets the edge close with 1009 as the spec asks for
      // any message up to that size; larger ones (after inflation too) still
      // never get buffered whole.
      maxPayloadLength: Math.min(2 * o.maxMessageBytes + 1024, 0x7fffffff),
      // A slow reader may hold one maximum-size message plus a little; beyond that sends are dropped (superseded state is re-sent by reconciliation).
      maxBackpressure: o.maxMessageBytes + 64 * 1024,
      idleTimeout: o.idleTimeoutS,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onWsMessage(ws, message, isBinary),
      close: (ws) => this.onWsClose(ws),
    });
    this.app.post(OPAMP_PATH, (res, req) => this.onHttpPost(res, req));
    this.app.get(OPAMP_PATH, (res) => {
      this.metrics.reject('unsupported_media_type');
      res
        .writeStatus('400 Bad Request')
        .writeHeader('Content-Type', 'text/plain')
        .end('OpAMP expects a WebSocket upgrade or a POST of application/x-protobuf\n');
    });
    this.app.any('/*', (res) => {
      this.metrics.reject('not_found');
      res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain').end(`OpAMP is served on ${OPAMP_PATH}\n`);
    });
  }

  private retryAfterSeconds(): number {
    const [min, max] = this.options.retryAfterRangeS;
    return min + Math.floor(Math.random() * (max - min + 1));
  }

  private refuseOverloaded(res: uWS.HttpResponse, reason: RejectionReason, status = '503 Service Unavailable'): void {
    this.metrics.reject(reason);
    res
      .writeStatus(status)
      .writeHeader('Retry-After', String(this.retryAfterSeconds()))
      .writeHeader('Content-Type', 'text/plain')
      .end('server is busy, retry later\n');
  }

  private authenticate(req: uWS.HttpRequest): AgentCredential | null {
    return this.deps.authenticator.authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'));
  }

  /** The client identity a trusted proxy vouched for; '' when none (or not from a trusted proxy). */
  private clientIdentityOf(res: uWS.HttpResponse, req: uWS.HttpRequest): string {
    const ci = this.options.clientIdentity;
    if (!ci) return '';
    const peer = text(res.getRemoteAddressAsText());
    if (!ci.trustedProxies.includes(peer)) return '';
    return req.getHeader(ci.header.toLowerCase());
  }

  private refuseUnauthorized(res: uWS.HttpResponse): void {
    this.metrics.reject('unauthorized');
    res.writeStatus('401 Unauthorized').writeHeader('WWW-Authenticate', 'Bearer').end('unauthorized\n');
  }

  // ---------------------------------------------------------------- WebSocket

  private onUpgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const credential = this.authenticate(req);
    const clientIdentity = this.clientIdentityOf(res, req);
    if (!credential || (this.options.clientIdentity?.required && !clientIdentity)) return this.refuseUnauthorized(res);
    if (this.draining) return this.refuseOverloaded(res, 'draining');
    if (this.wsConnections.size >= this.options.maxConnections) return this.refuseOverloaded(res, 'too_many_connections');
    if (this.saturated()) return this.refuseOverloaded(res, 'backlog');
    if (!this.upgradeBucket.tryTake()) return this.refuseOverloaded(res, 'overloaded');
    const conn: ConnectionContext = {
      connectionId: newConnectionId(),
      transport: 'ws',
      tenantId: credential.tenantId,
      tokenId: credential.tokenId,
      remoteAddress: text(res.getRemoteAddressAsText()),
      userAgent: req.getHeader('user-agent'),
      clientIdentity,
      bindings: new Map(),
      bucket: new TokenBucket(this.options.messagesPerSecond, this.options.messageBurst, this.now),
      ws: null,
      firstReplySent: false,
      closed: false,
    };
    res.upgrade(
      conn,
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  }

  private onOpen(ws: uWS.WebSocket<ConnectionContext>): void {
    const conn = ws.getUserData();
    conn.ws = ws;
    this.wsConnections.add(conn);
    this.metrics.connections.inc({ transport: 'ws' });
  }

  private sendWs(conn: ConnectionContext, message: opamp.proto.v1.IServerToAgent, kind: string): boolean {
    if (conn.closed || !conn.ws) return false;
    let frame: Buffer;
    try {
      frame = encodeServerToAgentFrame(message, { maxBytes: this.options.maxMessageBytes });
    } catch (err) {
      // Outbound limit: never send an oversized message; record the drop (C11).
      this.metrics.pushes.inc({ result: 'too_large' });
      this.log('warn', 'dropped an oversized ServerToAgent', { kind, error: (err as Error).message });
      return false;
    }
    const status = conn.ws.send(frame, true, frame.length > 1024);
    if (status === 2) {
      this.metrics.pushes.inc({ result: 'backpressure' });
      return false;
    }
    this.metrics.messagesOut.inc({ transport: 'ws', kind });
    return true;
  }

  /** The uid to answer with when a message itself could not tell: the stream's only agent, if it has one. */
  private soleUid(conn: ConnectionContext): Uint8Array | undefined {
    if (conn.bindings.size !== 1) return undefined;
    const [binding] = conn.bindings.values();
    return binding.key;
  }

  private onWsMessage(ws: uWS.WebSocket<ConnectionContext>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    if (message.byteLength > this.options.maxMessageBytes) {
      this.metrics.reject('too_large');
      ws.end(1009, 'message too big');
      return;
    }
    if (!isBinary) {
      this.metrics.reject('text_frame');
      this.sendWs(conn, badRequestReply(this.soleUid(conn), 'OpAMP messages are binary WebSocket frames'), 'error');
      return;
    }
    let msg: opamp.proto.v1.AgentToServer;
    let payload: Buffer;
    try {
      payload = decodeWsMessage(message);
      msg = decodeAgentToServer(payload, { maxBytes: this.options.maxMessageBytes });
    } catch (err) {
      const code = isProtocolError(err) ? err.code : 'MALFORMED_PROTOBUF';
      this.metrics.reject(rejectionFor(code));
      this.sendWs(conn, badRequestReply(this.soleUid(conn), (err as Error).message), 'error');
      return;
    }
    // Views into uWS's buffer are valid only during this callback: copy what outlives it.
    const uid = Buffer.from(msg.instanceUid ?? []);
    let key: Buffer;
    try {
      key = Buffer.from(normalizeInstanceUid(uid, { acceptLegacyUlid: this.options.acceptLegacyUlid }));
    } catch (err) {
      this.metrics.reject('invalid_instance_uid');
      this.sendWs(conn, badRequestReply(uid, (err as Error).message), 'error');
      return;
    }
    if (conn.bucket && !conn.bucket.tryTake()) {
      this.metrics.reject('rate_limited');
      this.sendWs(conn, unavailableReply(uid, Math.max(1000, conn.bucket.msUntilNextToken()), 'too many messages on this connection'), 'error');
      return;
    }
    if (this.saturated()) {
      // Refused, not dropped silently: the agent retries after the delay.
      this.metrics.reject('backlog');
      this.sendWs(conn, unavailableReply(uid, this.retryAfterSeconds() * 1000), 'error');
      return;
    }
    this.metrics.messagesIn.inc({ transport: 'ws', kind: messageKind(msg) });

    const uidHex = key.toString('hex');
    let binding = conn.bindings.get(uidHex);
    if (!binding) binding = this.bind(conn, key, uidHex);
    const raw = Buffer.from(payload);
    this.emit(binding, (epoch) => this.envelope(conn, epoch, { agentToServer: raw }));

    this.sendWs(conn, ackReply(uid, !conn.firstReplySent), 'ack');
    conn.firstReplySent = true;

    if (msg.agentDisconnect) {
      this.unbind(binding, fleet.v1.DisconnectReason.DISCONNECT_REASON_AGENT_DISCONNECT, true);
    } else {
      this.maybeRefreshLease(binding);
    }
  }

  private onWsClose(ws: uWS.WebSocket<ConnectionContext>): void {
    const conn = ws.getUserData();
    conn.closed = true;
    conn.ws = null;
    this.wsConnections.delete(conn);
    this.metrics.connections.dec({ transport: 'ws' });
    const reason = this.draining
      ? fleet.v1.DisconnectReason.DISCONNECT_REASON_GATEWAY_DRAIN
      : fleet.v1.DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED;
    // On drain, leases stay: the agent's reconnect elsewhere takes them over.
    for (const binding of [...conn.bindings.values()]) this.unbind(binding, reason, !this.draining);
  }

  // ---------------------------------------------------------------- bindings and leases

  private registryKey(tenantId: string, uidHex: string): string {
    return `${tenantId}/${uidHex}`;
  }

  private bind(conn: ConnectionContext, key: Buffer, uidHex: string): AgentBinding {
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
    this.registry.set(this.registryKey(conn.tenantId, uidHex), binding);
    if (conn.transport === 'ws') {
      this.emit(binding, (epoch) =>
        this.envelope(conn, epoch, { connected: { remoteAddress: conn.remoteAddress, userAgent: conn.userAgent } }),
      );
    }
    this.deps.leases.acquire(conn.tenantId, uidHex, this.options.gatewayId, conn.connectionId).then(
      ({ lease, previous }) => {
        if (previous && previous.connectionId !== conn.connectionId) this.noticeTakeover(binding, previous);
        binding.epoch = lease.epoch;
        binding.leaseReady = true;
        const waiting = binding.waiting;
        binding.waiting = [];
        for (const w of waiting) w.done(w.build ? this.sendEnvelope(binding, w.build(lease.epoch)) : Promise.resolve());
      },
      (err: unknown) => {
        // Without a lease there is no epoch to fence with: this agent cannot be served here now.
        binding.leaseFailed = true;
        const waiting = binding.waiting;
        binding.waiting = [];
        for (const w of waiting) w.done(Promise.resolve());
        this.metrics.leaseFailures.inc();
        this.log('error', 'cannot take a connection lease', { error: String(err) });
        if (conn.ws && !conn.closed) conn.ws.end(1013, 'try again later');
        binding.wake?.();
      },
    );
    return binding;
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
      this.onPush(notice);
      return;
    }
    this.deps.peers.publish(previous.gatewayId, notice).catch(() => this.metrics.leaseFailures.inc());
  }

  private unbind(binding: AgentBinding, reason: fleet.v1.DisconnectReason, releaseLease: boolean): void {
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

  private maybeRefreshLease(binding: AgentBinding): void {
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

  // ---------------------------------------------------------------- inbound envelopes

  private envelope(conn: ConnectionContext, epoch: number, event: Partial<fleet.v1.IAgentInbound>): fleet.v1.IAgentInbound {
    return {
      tenantId: conn.tenantId,
      gatewayId: this.options.gatewayId,
      connectionId: conn.connectionId,
      epoch,
      transport:
        conn.transport === 'ws' ? fleet.v1.Transport.TRANSPORT_WEBSOCKET : fleet.v1.Transport.TRANSPORT_HTTP,
      receivedAtUnixMs: this.now(),
      clientIdentity: conn.clientIdentity,
      ...event,
    };
  }

  /** Sends now if the epoch is known, else queues behind the lease, keeping order. */
  private emit(binding: AgentBinding, build: (epoch: number) => fleet.v1.IAgentInbound): Promise<void> {
    if (binding.leaseFailed) return Promise.resolve();
    if (binding.leaseReady && binding.waiting.length === 0) return this.sendEnvelope(binding, build(binding.epoch));
    return new Promise<void>((resolve) => {
      binding.waiting.push({ build, done: (sent) => void sent.then(resolve) });
    });
  }

  private sendEnvelope(binding: AgentBinding, env: fleet.v1.IAgentInbound): Promise<void> {
    const started = process.hrtime.bigint();
    return this.deps.inbound.send(binding.key, AgentInboundCodec.encode(env)).then(
      () => {
        this.metrics.produceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      },
      (err: unknown) => {
        // The agent's next message shows a sequence gap, and ingest asks it for full state.
        this.metrics.produceFailures.inc();
        this.log('error', 'inbound envelope was not stored', { error: String(err) });
      },
    );
  }

  // ---------------------------------------------------------------- pushes from workers

  private onPush(payload: Buffer): void {
    let push: fleet.v1.GatewayPush;
    try {
      push = GatewayPushCodec.decode(payload);
    } catch {
      this.metrics.pushes.inc({ result: 'malformed' });
      return;
    }
    let uidHex: string;
    try {
      // Workers may address an agent by the uid as it sent it (a legacy ULID) or by its key.
      uidHex = Buffer.from(normalizeInstanceUid(push.instanceUid, { acceptLegacyUlid: this.options.acceptLegacyUlid })).toString('hex');
    } catch {
      this.metrics.pushes.inc({ result: 'malformed' });
      return;
    }
    const binding = this.registry.get(this.registryKey(push.tenantId, uidHex));
    if (!binding) {
      this.metrics.pushes.inc({ result: 'unknown_agent' });
      return;
    }
    const conn = binding.connection;
    if (conn.connectionId !== push.connectionId || binding.epoch !== push.epoch) {
      this.metrics.pushes.inc({ result: 'fenced' });
      return;
    }
    if (push.takeover) {
      this.metrics.pushes.inc({ result: 'takeover' });
      // The lease is no longer ours: do not release it, and report why the agent left this stream.
      this.unbind(binding, fleet.v1.DisconnectReason.DISCONNECT_REASON_TAKEOVER, false);
      binding.wake?.();
      // The whole stream goes (even one that multiplexes other agents): leaving it open
      // would let its next message take the agent back, and the two would trade it forever.
      if (conn.transport === 'ws' && conn.ws && !conn.closed) conn.ws.end(1000, 'instance connected elsewhere');
      return;
    }
    if (conn.transport === 'http') {
      if (!push.pendingWakeup && push.serverToAgent.length > 0) {
        try {
          (binding.wakeItems ??= []).push(decodePendingItem('direct', push.serverToAgent));
        } catch {
          this.metrics.pushes.inc({ result: 'malformed' });
          return;
        }
      }
      this.metrics.pushes.inc({ result: 'wakeup' });
      binding.wake?.();
      return;
    }
    if (push.serverToAgent.length > 0) {
      if (push.serverToAgent.length + 1 > this.options.maxMessageBytes) {
        this.metrics.pushes.inc({ result: 'too_large' });
        return;
      }
      if (!conn.ws || conn.closed) return;
      const frame = encodeWsPayload(push.serverToAgent);
      const status = conn.ws.send(frame, true, frame.length > 1024);
      if (status === 2) {
        this.metrics.pushes.inc({ result: 'backpressure' });
      } else {
        this.metrics.pushes.inc({ result: 'delivered' });
        this.metrics.messagesOut.inc({ transport: 'ws', kind: 'push' });
      }
    }
    if (push.closeAfter && conn.ws && !conn.closed) conn.ws.end(1000, 'closed by server');
  }

  // ---------------------------------------------------------------- plain HTTP

  private onHttpPost(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    // Headers are readable only now, before any await.
    const credential = this.authenticate(req);
    const clientIdentity = this.clientIdentityOf(res, req);
    const userAgent = req.getHeader('user-agent');
    const remoteAddress = text(res.getRemoteAddressAsText());
    const contentType = req.getHeader('content-type');
    const contentEncoding = req.getHeader('content-encoding');
    const acceptEncoding = req.getHeader('accept-encoding');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (!credential || (this.options.clientIdentity?.required && !clientIdentity)) return this.refuseUnauthorized(res);
    if (contentType.split(';')[0].trim().toLowerCase() !== PROTOBUF) {
      this.metrics.reject('unsupported_media_type');
      res
        .writeStatus('415 Unsupported Media Type')
        .writeHeader('Content-Type', 'text/plain')
        .end(`OpAMP over plain HTTP takes Content-Type: ${PROTOBUF}\n`);
      return;
    }
    if (this.draining) return this.refuseOverloaded(res, 'draining');
    if (this.saturated()) return this.refuseOverloaded(res, 'backlog');

    // A compressed body can only grow when inflated, so the raw body has the same limit.
    const limit = this.options.maxMessageBytes;
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (aborted || tooLarge) return;
      received += chunk.byteLength;
      if (received > limit) {
        tooLarge = true;
        this.metrics.reject('too_large');
        res.cork(() => {
          res.writeStatus('413 Content Too Large').writeHeader('Content-Type', 'text/plain').end('message too large\n', true);
        });
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
        const peer = { clientIdentity, userAgent, remoteAddress };
        this.handleHttpBody(res, credential, peer, body, contentEncoding, acceptEncoding, () => aborted).catch((err: unknown) => {
          this.log('error', 'HTTP request failed', { error: String(err) });
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        });
      }
    });
  }

  private writeHttpError(res: uWS.HttpResponse, status: number, message: string): void {
    const statusText: Record<number, string> = {
      400: '400 Bad Request',
      413: '413 Content Too Large',
      415: '415 Unsupported Media Type',
    };
    res.cork(() => {
      res
        .writeStatus(statusText[status] ?? '400 Bad Request')
        .writeHeader('Content-Type', 'text/plain')
        .end(`${message}\n`);
    });
  }

  private writeHttpReply(res: uWS.HttpResponse, reply: opamp.proto.v1.IServerToAgent, acceptEncoding: string, kind: string): void {
    let bytes: Buffer;
    try {
      bytes = encodeServerToAgent(reply, { maxBytes: this.options.maxMessageBytes });
    } catch {
      // Outbound limit: send nothing oversized; record it (C21).
      this.metrics.pushes.inc({ result: 'too_large' });
      res.cork(() => res.writeStatus('500 Internal Server Error').end());
      return;
    }
    const { body, contentEncoding } = encodeResponseBody(bytes, acceptEncoding);
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('Content-Type', PROTOBUF);
      if (contentEncoding) res.writeHeader('Content-Encoding', contentEncoding);
      res.end(body);
    });
    this.metrics.messagesOut.inc({ transport: 'http', kind });
  }

  private async handleHttpBody(
    res: uWS.HttpResponse,
    credential: AgentCredential,
    peer: { clientIdentity: string; userAgent: string; remoteAddress: string },
    body: Buffer,
    contentEncoding: string,
    acceptEncoding: string,
    isAborted: () => boolean,
  ): Promise<void> {
    let msg: opamp.proto.v1.AgentToServer;
    let raw: Buffer;
    try {
      raw = decodeRequestBody(body, parseContentEncoding(contentEncoding), this.options.maxMessageBytes);
      msg = decodeAgentToServer(raw, { maxBytes: this.options.maxMessageBytes });
    } catch (err) {
      // Bodies that cannot be decoded get an HTTP status (there is no uid to answer with).
      const code = isProtocolError(err) ? err.code : 'MALFORMED_PROTOBUF';
      this.metrics.reject(rejectionFor(code));
      this.writeHttpError(res, httpStatusForError(code), (err as Error).message);
      return;
    }
    const uid = Buffer.from(msg.instanceUid ?? []);
    let key: Buffer;
    try {
      key = Buffer.from(normalizeInstanceUid(uid, { acceptLegacyUlid: this.options.acceptLegacyUlid }));
    } catch (err) {
      // Decodes but is invalid: a BAD_REQUEST ServerToAgent, as the spec reads.
      this.metrics.reject('invalid_instance_uid');
      this.writeHttpReply(res, badRequestReply(uid, (err as ProtocolError).message), acceptEncoding, 'error');
      return;
    }
    const kind = messageKind(msg);
    this.metrics.messagesIn.inc({ transport: 'http', kind });
    this.metrics.connections.inc({ transport: 'http' });
    const conn: ConnectionContext = {
      connectionId: newConnectionId(),
      transport: 'http',
      tenantId: credential.tenantId,
      tokenId: credential.tokenId,
      ...peer,
      bindings: new Map(),
      bucket: null,
      ws: null,
      firstReplySent: true,
      closed: false,
    };
    const uidHex = key.toString('hex');
    const binding = this.bind(conn, key, uidHex);
    try {
      const woken = new Promise<void>((resolve) => {
        binding.wake = resolve;
      });
      // The message is durable before the agent hears back: an HTTP agent has no stream to repair a loss.
      await this.emit(binding, (epoch) => this.envelope(conn, epoch, { agentToServer: raw }));
      if (binding.leaseFailed) {
        if (!isAborted()) this.writeHttpReply(res, unavailableReply(uid, this.retryAfterSeconds() * 1000), acceptEncoding, 'error');
        return;
      }
      // A bare poll is answered at once; a message carrying status (the workers may answer it) waits a little.
      if (this.options.httpPushWaitMs > 0 && kind !== 'heartbeat' && kind !== 'disconnect') {
        await Promise.race([woken, new Promise((resolve) => setTimeout(resolve, this.options.httpPushWaitMs))]);
      }
      const items: PendingReplyItem[] = [...(binding.wakeItems ?? [])];
      for (const item of await this.deps.pending.take(credential.tenantId, uidHex)) {
        try {
          items.push(decodePendingItem(item.kind, item.serverToAgent));
        } catch {
          this.metrics.pushes.inc({ result: 'malformed' });
        }
      }
      const { reply, leftovers } = composeHttpReply(uid, items);
      if (isAborted()) {
        leftovers.push(...items.filter((i) => !leftovers.includes(i)));
      } else {
        this.writeHttpReply(res, reply, acceptEncoding, items.length > 0 ? 'push' : 'ack');
      }
      for (const item of leftovers) {
        if (item.kind === 'direct') continue;
        await this.deps.pending.putBack(credential.tenantId, uidHex, {
          kind: item.kind,
          serverToAgent: encodeServerToAgent(item.message),
        });
      }
    } finally {
      this.metrics.connections.dec({ transport: 'http' });
      binding.wake = undefined;
      this.unbind(binding, fleet.v1.DisconnectReason.DISCONNECT_REASON_UNSPECIFIED, true);
    }
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.deps.log?.(level, message, { gateway: this.options.gatewayId, ...fields });
  }
}
