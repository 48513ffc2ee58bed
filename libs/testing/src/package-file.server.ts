/**
 * An operator's artifact store for package tests: an HTTP server on loopback
 * that serves the files it is given under their path, redirects the paths
 * it is told to (302), answers 404 for others, and holds `/hang/...` requests without answering (a store that
 * does not respond), so a registration's hash check meets each case for real.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class PackageFileServer {
  private readonly files = new Map<string, Buffer>();
  private readonly redirects = new Map<string, string>();
  private readonly held = new Set<ServerResponse>();
  /** Requests served, by path. */
  readonly requests: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<PackageFileServer> {
    let self: PackageFileServer | null = null;
    const server = createServer((req, res) => self!.handle(req, res));
    self = new PackageFileServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  /** Serves `bytes` at `path` from now on; returns its URL. */
  put(path: string, bytes: Buffer): string {
    this.files.set(path, bytes);
    return this.url(path);
  }

  /** Answers `path` with a 302 to `location` from now on; returns its URL. */
  redirect(path: string, location: string): string {
    this.redirects.set(path, location);
    return this.url(path);
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    this.requests.push(path);
    if (path.startsWith('/hang/')) {
      this.held.add(res);
      return;
    }
    const location = this.redirects.get(path);
    if (location !== undefined) {
      res.writeHead(302, { location }).end();
      return;
    }
    const body = this.files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }).end(body);
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
