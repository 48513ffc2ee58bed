/**
 * An OTLP/HTTP receiver of every signal on loopback, for tests of what this
 * server forwards: takes POST /v1/metrics, /v1/traces, /v1/logs (protobuf or
 * JSON, gzip or not), decodes it with the generated OTLP code and keeps each
 * request with its headers for the test to read back.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { decodeOtlpRequest, otlpEncodingOf, otlpSuccessBody, type OtlpRequest, type OtlpSignal } from '@opamp/protocol';

export interface ReceivedExport {
  readonly signal: OtlpSignal;
  readonly request: OtlpRequest;
  readonly headers: IncomingHttpHeaders;
}

const SIGNALS: Readonly<Record<string, OtlpSignal>> = { '/v1/metrics': 'metrics', '/v1/traces': 'traces', '/v1/logs': 'logs' };

export interface OtlpExportReceiverOptions {
  /** The signals taken (others answer 404); default all three. */
  readonly signals?: readonly OtlpSignal[];
  /** Told of every request taken, after it was kept. */
  readonly onExport?: (received: ReceivedExport) => void;
}

export class OtlpExportReceiver {
  readonly received: ReceivedExport[] = [];
  private server: Server | null = null;
  private port = 0;

  constructor(private readonly options: OtlpExportReceiverOptions = {}) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const signal = SIGNALS[req.url ?? ''];
        const encoding = otlpEncodingOf(req.headers['content-type'] ?? '');
        if (req.method !== 'POST' || !signal || !encoding || (this.options.signals && !this.options.signals.includes(signal))) {
          res.writeHead(404).end();
          return;
        }
        try {
          const raw = Buffer.concat(chunks);
          const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          const received = { signal, request: decodeOtlpRequest(signal, body, encoding), headers: req.headers };
          this.received.push(received);
          this.options.onExport?.(received);
          res.writeHead(200, { 'content-type': req.headers['content-type'] }).end(otlpSuccessBody(signal, encoding));
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** The base URL (an OTLP/HTTP endpoint: /v1/<signal> is appended). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
