/**
 * The gateway's admin port: liveness, readiness (false while draining, so the
 * load balancer stops sending agents) and Prometheus metrics. Separate from the
 * agent port so it is never exposed with it.
 */
import * as uWS from 'uWebSockets.js';
import type { Registry } from 'prom-client';

export interface AdminServerOptions {
  host: string;
  port: number;
  isReady: () => boolean;
  registry: Registry;
}

export class AdminServer {
  private listenSocket: uWS.us_listen_socket | null = null;
  private readonly app = uWS.App();
  private boundPort = 0;

  constructor(private readonly options: AdminServerOptions) {
    this.app.get('/healthz', (res) => {
      res.writeHeader('Content-Type', 'text/plain').end('ok\n');
    });
    this.app.get('/readyz', (res) => {
      if (this.options.isReady()) res.writeHeader('Content-Type', 'text/plain').end('ready\n');
      else res.writeStatus('503 Service Unavailable').writeHeader('Content-Type', 'text/plain').end('not ready\n');
    });
    this.app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      this.options.registry.metrics().then(
        (body) => {
          if (aborted) return;
          res.cork(() => {
            res.writeHeader('Content-Type', this.options.registry.contentType).end(body);
          });
        },
        () => {
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        },
      );
    });
    this.app.any('/*', (res) => {
      res.writeStatus('404 Not Found').end();
    });
  }

  get port(): number {
    return this.boundPort;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on admin port ${this.options.port}`));
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket);
        resolve();
      });
    });
  }

  stop(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }
}
