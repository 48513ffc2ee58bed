/**
 * OpAMP over WebSocket: upgrades (admission, per-connection rate limit), one
 * acknowledgement per AgentToServer, the stream's agents bound to it for as
 * long as it is open, and workers' pushes written to it.
 */
import * as uWS from 'uWebSockets.js';
import { fleet } from '@opamp/contracts';
import {
  badRequestReply,
  decodeAgentToServer,
  decodeWsMessage,
  encodeServerToAgentFrame,
  encodeWsPayload,
  isProtocolError,
  opamp,
  unavailableReply,
} from '@opamp/protocol';
import type { AgentBindings } from './agent-bindings';
import { EDGE_DEFAULTS } from './edge-defaults';
import { claimVerdict, DUPLICATE_DETAIL, noteServerAssignedUid, speaksForOneAgent } from './agent-claim';
import type { EdgeAdmission, PresentedIdentity } from './edge-admission';
import { agentKey, type AgentBinding, type ConnectionContext, type EdgeLog, messageKind, newConnectionId, rejectionFor, text } from './edge-connection';
import type { EdgeMetrics } from './edge-metrics';
import { type EdgeDependencies, type EdgeOptions, OPAMP_PATH } from './edge-options';
import { ackReply, serverCapabilitiesOf } from './server-reply';
import { storableInbound } from './storable-inbound';
import { TokenBucket } from './token-bucket';

const DRAIN_MESSAGE = 'gateway is restarting, retry shortly';

/** The upgrade request's headers, read before any await. */
interface UpgradeRequest {
  readonly key: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly userAgent: string;
  readonly remoteAddress: string;
}

export class WebSocketTransport {
  readonly connections = new Set<ConnectionContext>();
  private readonly upgradeBucket: TokenBucket;

  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: Pick<EdgeDependencies, 'authenticator'>,
    private readonly admission: EdgeAdmission,
    private readonly bindings: AgentBindings,
    private readonly metrics: EdgeMetrics,
    private readonly now: () => number,
    private readonly log: EdgeLog,
  ) {
    this.upgradeBucket = new TokenBucket(options.upgradesPerSecond, options.upgradeBurst, now);
  }

  register(app: uWS.TemplatedApp): void {
    const o = this.options;
    app.ws<ConnectionContext>(OPAMP_PATH, {
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
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws) => this.onClose(ws),
    });
  }

  /**
   * Closes every stream, spread over the window, so agents do not come back as
   * one herd. Each agent of a stream is told first when to come back: the
   * drain's short retry delay (UNAVAILABLE with retry_info), not its own
   * backoff; a client that ignores it still sees close 1001.
   */
  async closeAll(windowMs: number): Promise<void> {
    const conns = [...this.connections];
    const step = conns.length > 0 ? windowMs / conns.length : 0;
    await Promise.all(
      conns.map(
        (conn, i) =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!conn.closed && conn.ws) {
                for (const binding of conn.bindings.values()) {
                  this.send(conn, unavailableReply(binding.key, this.admission.retryAfterSeconds() * 1000, DRAIN_MESSAGE), 'error');
                }
                conn.ws.end(1001, 'gateway draining');
              }
              resolve();
            }, Math.floor(i * step));
          }),
      ),
    );
  }

  /** Ends every stream opened with this credential: close 1008. */
  disconnectCredential(tenantId: string, tokenId: string): number {
    let closed = 0;
    for (const conn of this.connections) {
      if (conn.tenantId === tenantId && conn.tokenId === tokenId && conn.ws && !conn.closed) {
        conn.ws.end(1008, 'credential revoked');
        closed++;
      }
    }
    return closed;
  }

  /** Writes a worker's push (already fenced to this binding) to its stream. */
  deliver(binding: AgentBinding, push: fleet.v1.GatewayPush): void {
    const conn = binding.connection;
    if (push.serverToAgent.length > 0) {
      if (speaksForOneAgent(conn.credential)) noteServerAssignedUid(conn, push.serverToAgent);
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

  private onUpgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const a = this.admission;
    const presented = a.presented(res, req);
    const request: UpgradeRequest = {
      key: req.getHeader('sec-websocket-key'),
      protocol: req.getHeader('sec-websocket-protocol'),
      extensions: req.getHeader('sec-websocket-extensions'),
      userAgent: req.getHeader('user-agent'),
      remoteAddress: text(res.getRemoteAddressAsText()),
    };
    const identity = a.evaluate(presented);
    const rechecked = a.recheck(presented, identity);
    if (!rechecked) return this.upgrade(res, identity, request, context);
    // A credential not heard of yet: upgraded (or refused) once the shared directory was read.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void rechecked.then((checked) => {
      if (!aborted) res.cork(() => this.upgrade(res, checked, request, context));
    });
  }

  private upgrade(res: uWS.HttpResponse, identity: PresentedIdentity, request: UpgradeRequest, context: uWS.us_socket_context_t): void {
    const a = this.admission;
    if (!a.admits(res, identity)) return;
    const { credential } = identity.verdict;
    const { clientIdentity } = identity;
    if (a.draining) return a.refuseOverloaded(res, 'draining');
    if (this.connections.size >= this.options.maxConnections) return a.refuseOverloaded(res, 'too_many_connections');
    if (a.saturated()) return a.refuseOverloaded(res, 'backlog');
    if (!this.upgradeBucket.tryTake()) return a.refuseOverloaded(res, 'overloaded');
    const conn: ConnectionContext = {
      connectionId: newConnectionId(),
      transport: 'ws',
      tenantId: credential.tenantId,
      tokenId: credential.tokenId,
      credential,
      remoteAddress: request.remoteAddress,
      userAgent: request.userAgent,
      clientIdentity,
      bindings: new Map(),
      bucket: new TokenBucket(this.options.messagesPerSecond, this.options.messageBurst, this.now),
      ws: null,
      firstReplySent: false,
      closed: false,
    };
    res.upgrade(conn, request.key, request.protocol, request.extensions, context);
  }

  private onOpen(ws: uWS.WebSocket<ConnectionContext>): void {
    const conn = ws.getUserData();
    conn.ws = ws;
    this.connections.add(conn);
    this.metrics.connections.inc({ transport: 'ws' });
  }

  private send(conn: ConnectionContext, message: opamp.proto.v1.IServerToAgent, kind: string): boolean {
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

  private onMessage(ws: uWS.WebSocket<ConnectionContext>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    if (message.byteLength > this.options.maxMessageBytes) {
      this.metrics.reject('too_large');
      ws.end(1009, 'message too big');
      return;
    }
    if (!isBinary) {
      this.metrics.reject('text_frame');
      this.send(conn, badRequestReply(this.soleUid(conn), 'OpAMP messages are binary WebSocket frames'), 'error');
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
      this.send(conn, badRequestReply(this.soleUid(conn), (err as Error).message), 'error');
      return;
    }
    // Views into uWS's buffer are valid only during this callback: copy what outlives it.
    const uid = Buffer.from(msg.instanceUid ?? []);
    const agent = agentKey(uid, this.options.acceptLegacyUlid);
    if ('invalid' in agent) {
      this.metrics.reject('invalid_instance_uid');
      this.send(conn, badRequestReply(uid, agent.invalid), 'error');
      return;
    }
    const key = agent.key;
    const storable = storableInbound(msg, payload, this.metrics);
    if (storable.refused) {
      this.send(conn, badRequestReply(uid, storable.refused), 'error');
      return;
    }
    if (conn.bucket && !conn.bucket.tryTake()) {
      this.metrics.reject('rate_limited');
      this.send(conn, unavailableReply(uid, Math.max(1000, conn.bucket.msUntilNextToken()), 'too many messages on this connection'), 'error');
      return;
    }
    if (this.admission.saturated()) {
      // Refused, not dropped silently: the agent retries after the delay.
      this.metrics.reject('backlog');
      this.send(conn, unavailableReply(uid, this.admission.retryAfterSeconds() * 1000), 'error');
      return;
    }
    this.metrics.messagesIn.inc({ transport: 'ws', kind: messageKind(msg) });

    const uidHex = key.toString('hex');
    let binding = conn.bindings.get(uidHex);
    if (!binding) {
      const verdict = claimVerdict(this.deps.authenticator, conn.credential, uidHex, Number(msg.capabilities ?? 0), conn.serverAssigned);
      if (!verdict.ok) {
        this.metrics.reject(verdict.metric);
        this.bindings.refused(conn, key, verdict.reason, verdict.detail);
        this.send(conn, badRequestReply(uid, verdict.detail), 'error');
        ws.end(1008, 'credential refused');
        return;
      }
      binding = this.bindings.bind(conn, key, uidHex, verdict.exclusive, () => {
        this.send(conn, unavailableReply(uid, EDGE_DEFAULTS.duplicateRetryAfterMs, DUPLICATE_DETAIL), 'error');
        if (conn.ws && !conn.closed) conn.ws.end(1008, 'duplicate instance_uid');
      });
    }
    const raw = Buffer.from(storable.payload);
    const span = this.bindings.startReceive(binding);
    if (span) {
      void this.bindings.emit(binding, (epoch) => this.bindings.envelope(conn, epoch, { agentToServer: raw, traceParent: span.traceParent })).then(() => span.end());
    } else {
      void this.bindings.emit(binding, (epoch) => this.bindings.envelope(conn, epoch, { agentToServer: raw }));
    }

    const ack = ackReply(uid, !conn.firstReplySent, serverCapabilitiesOf(this.options.acceptsCertificateRequests));
    if (storable.warning) ack.errorResponse = badRequestReply(uid, storable.warning).errorResponse;
    this.send(conn, ack, storable.warning ? 'error' : 'ack');
    conn.firstReplySent = true;

    if (msg.agentDisconnect) {
      this.bindings.unbind(binding, fleet.v1.DisconnectReason.DISCONNECT_REASON_AGENT_DISCONNECT, true);
    } else {
      this.bindings.maybeRefreshLease(binding);
    }
  }

  private onClose(ws: uWS.WebSocket<ConnectionContext>): void {
    const conn = ws.getUserData();
    conn.closed = true;
    conn.ws = null;
    this.connections.delete(conn);
    this.metrics.connections.dec({ transport: 'ws' });
    const draining = this.admission.draining;
    const reason = draining
      ? fleet.v1.DisconnectReason.DISCONNECT_REASON_GATEWAY_DRAIN
      : fleet.v1.DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED;
    // On drain, leases stay: the agent's reconnect elsewhere takes them over.
    for (const binding of [...conn.bindings.values()]) this.bindings.unbind(binding, reason, !draining);
  }
}
