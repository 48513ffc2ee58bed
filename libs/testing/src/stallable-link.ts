/**
 * A client-side fault a test can always undo: the TCP connections a client
 * (kafkajs, through its `socketFactory`) opens are created here, and `stall`
 * stops reading from them, so every request waits for its answer as if the
 * server had frozen. Only this test's client is affected; the shared server
 * is never touched, and the fault ends with the test process at the latest.
 * A client without a socket factory (ioredis) connects to `forward()`'s
 * loopback port instead, which relays to the server through the same links.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class StallableLink {
  private readonly sockets = new Set<Socket>();
  private stalled = false;

  /** Pass as kafkajs' `socketFactory` (plain TCP only). */
  readonly socketFactory = ({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }): Socket => {
    const socket = connect({ host, port }, onConnect);
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.stalled) socket.pause();
    return socket;
  };

  private readonly relays: Server[] = [];

  /**
   * Listens on a loopback port of its own and relays every connection made
   * to it to host:port; resolves with that port. Stalled: the answers stop.
   */
  async forward(host: string, port: number): Promise<number> {
    const relay = createServer((client) => {
      client.setNoDelay(true);
      const upstream = this.socketFactory({ host, port, onConnect: () => undefined });
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.once('error', end).once('close', end);
      upstream.once('error', end).once('close', end);
    });
    this.relays.push(relay);
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    return (relay.address() as { port: number }).port;
  }

  /** Stops relaying and drops every connection it made. */
  async close(): Promise<void> {
    this.release();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.relays.map((r) => new Promise<void>((resolve) => r.close(() => resolve()))));
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  /** Answers stop arriving on every connection, present and future. */
  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.pause();
  }

  release(): void {
    this.stalled = false;
    for (const s of this.sockets) s.resume();
  }
}
