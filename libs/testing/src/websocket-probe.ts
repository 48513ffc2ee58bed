/**
 * A WebSocket to an OpAMP endpoint for tests that watch a connection's end:
 * the messages it got, its close code, and an upgrade's refusal as the HTTP
 * status with the body the server explained it in.
 */
import WebSocket from 'ws';
import { waitFor } from './wait-for';

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.trim()}`);
    this.name = 'UpgradeRefused';
  }
}

export class WebSocketProbe {
  readonly messages: Buffer[] = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(data as Buffer));
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  /** Opens it; rejects with UpgradeRefused (status and body) or the socket's error. */
  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocketProbe> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const probe = new WebSocketProbe(ws);
      ws.once('open', () => resolve(probe));
      ws.once('error', (err) => reject(err));
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
    });
  }

  async nthMessage(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const all = await waitFor(() => this.messages, (m) => m.length >= n, { timeoutMs, description: `${n} messages` });
    return all[n - 1];
  }

  /** The close code once the server (or the network) ended it. */
  async closed(timeoutMs = 10_000): Promise<number> {
    return (await waitFor(() => this.closeCode, (c) => c !== null, { timeoutMs, description: 'the WebSocket closed' })) as number;
  }

  terminate(): void {
    this.ws.terminate();
  }
}
