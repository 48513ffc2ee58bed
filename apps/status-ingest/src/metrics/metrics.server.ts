/**
 * status-ingest's HTTP port: GET /metrics (Prometheus text) and GET /healthz
 * (200 once the inbound consumer has joined its group, 503 before and after a
 * crash until it rejoins). Plain node:http: the app has no other HTTP surface.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  registry: Registry;
  isReady: () => boolean;
}

export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly options: MetricsServerOptions) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
      } else if (path === '/healthz') {
        const ready = this.options.isReady();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok\n' : 'consumer not joined\n');
      } else if (path === '/metrics') {
        this.options.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': this.options.registry.contentType }).end(body),
          () => res.writeHead(500).end(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
  }

  /** The bound port (the configured one, or the one chosen for port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    // Scrapers keep connections alive; do not let them hold the shutdown.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
