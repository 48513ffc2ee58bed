/**
 * Owns one plain-HTTP OpAMP exchange: POST the AgentToServer bytes, collect
 * the response, inflate a gzip response. Scheduling (one request at a time,
 * polling, retries) is the agent's business.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';

export interface HttpExchangeResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The response body, inflated if it was gzip. */
  readonly body: Buffer;
}

export interface HttpExchangeOptions {
  readonly headers: http.OutgoingHttpHeaders;
  readonly localAddress?: string;
  readonly agent?: http.Agent;
  readonly timeoutMs: number;
  /** https: the client certificate and key to present (PEM), and the CA(s) the server's certificate must chain to. */
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  /** Refuse responses larger than this after inflation (default 64 MiB). */
  readonly maxResponseBytes?: number;
}

export type HttpExchangeCallback = (err: Error | undefined, result?: HttpExchangeResult) => void;

const DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024;

let sharedHttpAgent: http.Agent | undefined;
let sharedHttpsAgent: https.Agent | undefined;

/** One keep-alive pool for all agents (Node keys pooled sockets by host, port and localAddress). */
function defaultAgent(url: URL): http.Agent {
  if (url.protocol === 'https:') return (sharedHttpsAgent ??= new https.Agent({ keepAlive: true }));
  return (sharedHttpAgent ??= new http.Agent({ keepAlive: true }));
}

/** POST `body` to `url`; `done` is called exactly once. Returns the request (destroy() aborts it). */
export function postOpamp(url: URL, body: Buffer, options: HttpExchangeOptions, done: HttpExchangeCallback): http.ClientRequest {
  let finished = false;
  const finish = (err: Error | undefined, result?: HttpExchangeResult): void => {
    if (finished) return;
    finished = true;
    done(err, result);
  };
  const requestOptions: http.RequestOptions = {
    method: 'POST',
    headers: { ...options.headers, 'Content-Length': body.length },
    agent: options.agent ?? defaultAgent(url),
    timeout: options.timeoutMs,
  };
  if (options.localAddress) requestOptions.localAddress = options.localAddress;
  // The pooled agent keys sockets by these too, so each certificate gets its own connections.
  const tls = requestOptions as https.RequestOptions;
  if (options.cert) tls.cert = options.cert;
  if (options.key) tls.key = options.key;
  if (options.ca) tls.ca = options.ca;
  const send = url.protocol === 'https:' ? https.request : http.request;
  const req = send(url, requestOptions, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', (err) => finish(err));
    res.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      let payload = raw;
      const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
      if (encoding === 'gzip' || encoding === 'x-gzip') {
        try {
          payload = zlib.gunzipSync(raw, { maxOutputLength: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE });
        } catch (err) {
          finish(new ResponseDecodeError(`cannot gunzip response: ${(err as Error).message}`, res.statusCode ?? 0));
          return;
        }
      }
      finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: payload });
    });
  });
  req.on('timeout', () => req.destroy(new Error(`request timed out after ${options.timeoutMs} ms`)));
  req.on('error', (err) => finish(err));
  req.end(body);
  return req;
}

/** A response arrived but its body could not be decoded (counts as 'decode', not 'transport'). */
export class ResponseDecodeError extends Error {
  override readonly name = 'ResponseDecodeError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
