/**
 * A TCP pass-through in front of a gateway that can cut a package download
 * mid-way: every connection is forwarded as it is, and once `cutNext` armed
 * it, the next request `GET /v1/packages/files/...` without a Range header
 * has its connection closed after that many bytes of the answer (the
 * way a dropped link or a restarted load balancer ends a download); once
 * `corruptNext` armed it, one byte of the next full download's answer is
 * changed (a broken middlebox: the bytes no longer have the offered hash).
 * The download requests it saw are kept (path and Range header), so a test
 * can tell a full retry from a resumption.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const DOWNLOAD_REQUEST = /^GET (\/v1\/packages\/files\/[^ ?]*)[^ ]* HTTP\/1\.[01]\r\n/;

export interface SeenDownload {
  readonly path: string;
  /** The Range header ('' without one). */
  readonly range: string;
  /** This connection was cut. */
  readonly cut: boolean;
  /** A byte of its answer was changed. */
  readonly corrupted: boolean;
}

export class DownloadCutProxy {
  private server: Server | null = null;
  private target: { host: string; port: number } | null = null;
  private readonly sockets = new Set<Socket>();
  private cutAfter: number | null = null;
  private corruptAt: number | null = null;
  readonly downloads: SeenDownload[] = [];

  get port(): number {
    if (!this.server) throw new Error('not listening');
    return (this.server.address() as AddressInfo).port;
  }

  /** Listens on loopback (port 0: the kernel's choice); connections wait for `forwardTo`. */
  async listen(port = 0): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Where connections go (the gateway may start after the proxy, knowing its address). */
  forwardTo(port: number, host = '127.0.0.1'): void {
    this.target = { host, port };
  }

  /** The next full download is closed after `bytes` bytes of its answer (headers included). */
  cutNext(bytes: number): void {
    this.cutAfter = bytes;
  }

  /** The next full download gets the byte at this offset of its answer (headers included) inverted. */
  corruptNext(offset: number): void {
    this.corruptAt = offset;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private accept(client: Socket): void {
    this.track(client);
    if (!this.target) {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.target);
    this.track(upstream);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    // Per request: a kept-alive connection carries several, one after the other (no pipelining).
    let limit: number | null = null;
    let corruptAt: number | null = null;
    let answered = 0;
    client.on('data', (chunk: Buffer) => {
      const head = chunk.toString('latin1', 0, Math.min(chunk.length, 8192));
      const m = DOWNLOAD_REQUEST.exec(head);
      if (m) {
        answered = 0;
        limit = null;
        corruptAt = null;
        const range = /\r\nrange: *([^\r]*)/i.exec(head)?.[1] ?? '';
        const cut = range === '' && this.cutAfter !== null;
        if (cut) {
          limit = this.cutAfter;
          this.cutAfter = null;
        }
        const corrupted = range === '' && this.corruptAt !== null;
        if (corrupted) {
          corruptAt = this.corruptAt;
          this.corruptAt = null;
        }
        this.downloads.push({ path: m[1], range, cut, corrupted });
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (corruptAt !== null && corruptAt >= answered && corruptAt < answered + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[corruptAt - answered] ^= 0xff;
        corruptAt = null;
      }
      const room = limit === null ? Infinity : limit - answered;
      answered += chunk.length;
      if (chunk.length < room) {
        client.write(chunk);
        return;
      }
      client.end(chunk.subarray(0, room), () => client.destroy());
      upstream.destroy();
    });
  }
}
