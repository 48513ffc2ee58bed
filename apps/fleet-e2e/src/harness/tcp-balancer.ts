/**
 * A small layer-4 load balancer for the tests, so agents have ONE endpoint in
 * front of several gateways (what HAProxy or nginx does in deploy/): each new
 * client connection goes to the next backend, round robin; a backend that
 * refuses a connection is marked down for a while and the next one is tried;
 * when either side of a pair closes or fails, the other is closed too (so
 * agents on a dead gateway see their connection drop and reconnect).
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export interface TcpBalancerOptions {
  /** How long a backend that refused a connection is skipped (default 2 s). */
  readonly downForMs?: number;
  /** Connect timeout per backend attempt (default 2 s). */
  readonly connectTimeoutMs?: number;
}

interface BackendState extends Backend {
  downUntil: number;
  /** Open client connections routed to this backend. */
  readonly connections: Set<Socket>;
  /** Connections routed to this backend in total. */
  routed: number;
}

export class TcpBalancer {
  private server: Server | null = null;
  private readonly backends: BackendState[];
  private next = 0;
  private readonly downForMs: number;
  private readonly connectTimeoutMs: number;
  private readonly clients = new Set<Socket>();
  /** Client connections closed because no backend could take them. */
  refused = 0;

  constructor(backends: readonly Backend[], options: TcpBalancerOptions = {}) {
    if (backends.length === 0) throw new Error('at least one backend');
    this.backends = backends.map((b) => ({ host: b.host, port: b.port, downUntil: 0, connections: new Set(), routed: 0 }));
    this.downForMs = options.downForMs ?? 2_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  }

  get port(): number {
    if (!this.server) throw new Error('not listening');
    return (this.server.address() as AddressInfo).port;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<void> {
    const server = createServer({ pauseOnConnect: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
  }

  /** Open client connections per backend ("host:port" -> count). */
  connectionCounts(): Record<string, number> {
    return Object.fromEntries(this.backends.map((b) => [`${b.host}:${b.port}`, b.connections.size]));
  }

  /** Connections routed per backend since the start. */
  routedCounts(): Record<string, number> {
    return Object.fromEntries(this.backends.map((b) => [`${b.host}:${b.port}`, b.routed]));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of this.clients) c.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    client.on('error', () => client.destroy());
    this.route(client, this.backends.length);
  }

  /** The next backend that is not marked down (or, when all are, the next one anyway). */
  private pick(): BackendState {
    const now = Date.now();
    for (let i = 0; i < this.backends.length; i++) {
      const b = this.backends[(this.next + i) % this.backends.length];
      if (b.downUntil <= now) {
        this.next = (this.backends.indexOf(b) + 1) % this.backends.length;
        return b;
      }
    }
    const b = this.backends[this.next];
    this.next = (this.next + 1) % this.backends.length;
    return b;
  }

  private route(client: Socket, attemptsLeft: number): void {
    if (client.destroyed) return;
    if (attemptsLeft <= 0) {
      this.refused++;
      client.destroy();
      return;
    }
    const backend = this.pick();
    const upstream = createConnection({ host: backend.host, port: backend.port });
    upstream.setNoDelay(true);
    let connected = false;
    const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), this.connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      backend.routed++;
      backend.connections.add(client);
      client.once('close', () => backend.connections.delete(client));
      client.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      clearTimeout(timer);
      if (!connected) {
        backend.downUntil = Date.now() + this.downForMs;
        this.route(client, attemptsLeft - 1);
      } else client.destroy();
    });
    upstream.on('close', () => {
      if (connected) client.destroy();
    });
    client.on('close', () => upstream.destroy());
  }
}
