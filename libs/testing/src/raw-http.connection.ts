/**
 * One raw TCP connection to an HTTP server, for tests that must send what no
 * HTTP client would (conflicting headers, broken header lines) or keep one
 * connection alive across requests, and see exactly what comes back.
 */
import { connect, type Socket } from 'node:net';
import { waitFor } from './wait-for';

export interface RawHttpResponse {
  status: number;
  /** Lower-cased names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

export class RawHttpConnection {
  private buffer = Buffer.alloc(0);
  private ended = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
    });
    socket.on('close', () => {
      this.ended = true;
    });
    socket.on('error', () => {
      this.ended = true;
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new RawHttpConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** True once the server closed the connection. */
  get closedByServer(): boolean {
    return this.ended;
  }

  /** Everything received and not yet taken by nextResponse. */
  get unread(): Buffer {
    return this.buffer;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Waits for one complete response (Content-Length framed) and takes it off the connection. */
  async nextResponse(timeoutMs = 10_000): Promise<RawHttpResponse> {
    const parsed = await waitFor(() => this.parse(), (r) => r !== null, { timeoutMs, description: 'an HTTP response' });
    return parsed as RawHttpResponse;
  }

  /** Waits until the server has closed the connection. */
  async closed(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.ended, (e) => e, { timeoutMs, description: 'the server to close the connection' });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): RawHttpResponse | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffer.length < end + 4 + length) return null;
    const body = Buffer.from(this.buffer.subarray(end + 4, end + 4 + length));
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
}
