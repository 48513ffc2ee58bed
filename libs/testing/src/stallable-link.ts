/**
 * A client-side fault a test can always undo: the TCP connections a client
 * (kafkajs, through its `socketFactory`) opens are created here, and `stall`
 * stops reading from them, so every request waits for its answer as if the
 * server had frozen. Only this test's client is affected; the shared server
 * is never touched, and the fault ends with the test process at the latest.
 */
import { connect, type Socket } from 'node:net';

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
