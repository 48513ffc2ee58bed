/**
 * The OpAMP edge: terminates agents' WebSockets and plain-HTTP requests on one
 * path with uWebSockets.js, answers every AgentToServer at once, streams every
 * message (and connect/disconnect) to the inbound sink in per-agent order, and
 * delivers workers' pushes to the connection they are fenced to.
 *
 * This file owns the lifecycle (start, drain) and the routing of pushes; the
 * transports, the bindings and admission live beside it. It owns no state
 * that outlives it: connection ownership lives in the lease store, everything
 * else downstream. Kept free of any framework: this is the hot path.
 */
import { readFileSync } from 'node:fs';
import * as uWS from 'uWebSockets.js';
import { fleet, GatewayPushCodec } from '@opamp/contracts';
import { normalizeInstanceUid } from '@opamp/protocol';
import { AgentBindings } from './agent-bindings';
import { EdgeAdmission } from './edge-admission';
import { EdgeMetrics } from './edge-metrics';
import { type EdgeDependencies, type EdgeOptions, OPAMP_PATH } from './edge-options';
import { EDGE_DEFAULTS } from './edge-defaults';
import { OtlpReceiveRoute } from './otlp-receive.route';
import { PackageDownloadRoute } from './package-download.route';
import { PlainHttpTransport } from './plain-http.transport';
import { WebSocketTransport } from './websocket.transport';

export class OpampEdgeServer {
  readonly metrics: EdgeMetrics;
  private readonly app: uWS.TemplatedApp;
  private listenSocket: uWS.us_listen_socket | null = null;
  private readonly admission: EdgeAdmission;
  private readonly bindings: AgentBindings;
  private readonly ws: WebSocketTransport;
  private readonly http: PlainHttpTransport;
  private readonly downloads: PackageDownloadRoute | null;
  private readonly otlp: OtlpReceiveRoute | null;
  private started = false;
  private boundPort = 0;

  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: EdgeDependencies,
  ) {
    this.metrics = deps.metrics ?? new EdgeMetrics({ gatewayId: options.gatewayId });
    const now = deps.now ?? Date.now;
    const log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) =>
      deps.log?.(level, message, { gateway: options.gatewayId, ...fields });
    if (options.tls) {
      // Fail at start, not at the first handshake, when a file is missing.
      readFileSync(options.tls.certFile);
      readFileSync(options.tls.keyFile);
    }
    this.admission = new EdgeAdmission(options, deps, this.metrics);
    this.bindings = new AgentBindings(options, deps, this.metrics, now, log, (payload) => this.onPush(payload));
    this.metrics.connectionCap.set(options.maxConnections);
    this.metrics.watchAgents(() => this.bindings.tenants());
    this.ws = new WebSocketTransport(options, deps, this.admission, this.bindings, this.metrics, now, log);
    this.http = new PlainHttpTransport(options, deps, this.admission, this.bindings, this.metrics, log);
    const dl = options.packageDownloads ?? { urlKey: null, maxConcurrent: EDGE_DEFAULTS.packageDownloadsMax, bytesPerSecond: EDGE_DEFAULTS.packageBytesPerSecond };
    this.downloads = deps.packageFiles ? new PackageDownloadRoute(dl, deps.packageFiles, deps.authenticator, this.admission, this.metrics, log, now) : null;
    const tel = options.telemetry ?? { maxConcurrent: EDGE_DEFAULTS.telemetryRequestsMax, maxBodyBytes: EDGE_DEFAULTS.telemetryMaxBodyBytes };
    this.otlp = deps.telemetry ? new OtlpReceiveRoute({ gatewayId: options.gatewayId, ...tel }, deps.telemetry, deps.authenticator, this.admission, this.metrics, log, now) : null;
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
    return this.started && !this.admission.draining && !this.saturated();
  }

  /** True while the bus (Kafka) cannot take messages fast enough: admit no new work. */
  saturated(): boolean {
    return this.admission.saturated();
  }

  get connectionCount(): number {
    return this.ws.connections.size;
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
    if (this.admission.draining) return;
    this.admission.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    await this.ws.closeAll(windowMs);
    await this.deps.pushes.stop();
    await this.deps.inbound.close();
  }

  /** Ends every WebSocket opened with this credential (it was revoked): close 1008. */
  disconnectCredential(tenantId: string, tokenId: string): number {
    return this.ws.disconnectCredential(tenantId, tokenId);
  }

  /** Immediate stop (tests, fatal errors): closes every socket without a drain window. */
  async close(): Promise<void> {
    await this.drain(0);
  }

  private routes(): void {
    this.ws.register(this.app);
    this.http.register(this.app);
    this.downloads?.register(this.app);
    this.otlp?.register(this.app);
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

  /** A worker's push (or a takeover notice): to the connection it is fenced to, or nowhere. */
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
    const binding = this.bindings.find(push.tenantId, uidHex);
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
      this.bindings.unbind(binding, fleet.v1.DisconnectReason.DISCONNECT_REASON_TAKEOVER, false);
      binding.wake?.();
      // The whole stream goes (even one that multiplexes other agents): leaving it open
      // would let its next message take the agent back, and the two would trade it forever.
      if (conn.transport === 'ws' && conn.ws && !conn.closed) conn.ws.end(1000, 'instance connected elsewhere');
      return;
    }
    const span = push.traceParent ? this.deps.tracing?.continueFrom(push.traceParent, 'opamp.deliver', { 'opamp.tenant': binding.tenantId, 'opamp.instance_uid': uidHex, 'opamp.gateway': this.options.gatewayId }, 'producer') : null;
    if (conn.transport === 'http') this.http.deliver(binding, push);
    else this.ws.deliver(binding, push);
    if (span) {
      // The agent's next message on this stream is its answer: it continues this trace.
      if (conn.transport === 'ws') binding.traceParent = span.traceParent;
      span.end();
    }
  }
}
