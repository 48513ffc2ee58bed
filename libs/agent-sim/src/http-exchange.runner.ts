/**
 * Owns a plain-HTTP simulated agent's exchange in flight: it builds the POST
 * (headers, gzip, OpAMP-Instance-UID), keeps what the request carried once
 * (put back if it fails), and sorts the outcome into what the agent reacts
 * to: a transport failure, a refusing status, an undecodable body, or a
 * ServerToAgent. One request at a time, on the target of the moment
 * (connection-target.ts); scheduling (polls, retries) and the protocol state
 * stay the agent's (simulated-agent.ts), the POST itself is http-transport.ts's.
 */
import * as zlib from 'node:zlib';
import type { ClientRequest } from 'node:http';
import { decodeServerToAgent, encodeAgentToServer, instanceUidToString, opamp } from '@opamp/protocol';
import type { ResolvedProfile } from './agent-options';
import type { AgentErrorKind } from './agent-events';
import { postOpamp, ResponseDecodeError, type HttpExchangeResult } from './http-transport';
import type { OneOffItems } from './one-off.queue';
import type { ConnectionTarget } from './connection-target';
import type { MessageExtras } from './status-builder';

/** What the runner needs of its agent (the agent implements it; no closures per agent). */
export interface HttpExchangeHost {
  readonly instanceUid: Buffer;
  readonly running: boolean;
  /** @internal the message for these parts; counted as sent */
  httpMessage(parts: number, extras: MessageExtras | undefined): opamp.proto.v1.IAgentToServer;
  /** @internal no response (transport), or one with a status other than 200 */
  httpFailed(carried: OneOffItems | undefined, text: string, status?: number, retryAfter?: string | readonly string[]): void;
  /** @internal a 200 came (before its body is decoded) */
  httpAnswered(): void;
  /** @internal the decoded answer */
  httpMessageReceived(message: opamp.proto.v1.ServerToAgent): void;
  /** @internal the exchange ended while stopping */
  httpStopped(): void;
  /** @internal after a failed or undecodable exchange: flush what waits, re-arm the timer */
  httpSettled(): void;
  /** @internal */
  countError(kind: AgentErrorKind, message: string, status?: number): void;
}

export class HttpExchangeRunner {
  private request: ClientRequest | undefined;
  /** What the request in flight carried once (requeued if it fails). */
  private carried: OneOffItems | undefined;

  constructor(
    private readonly profile: ResolvedProfile,
    private readonly localAddress: string | undefined,
    private readonly target: ConnectionTarget,
    private readonly host: HttpExchangeHost,
  ) {}

  get inFlight(): boolean {
    return this.request !== undefined;
  }

  send(parts: number, extras?: MessageExtras): void {
    const profile = this.profile;
    const target = this.target.current;
    const bytes = encodeAgentToServer(this.host.httpMessage(parts, extras));
    const headers: Record<string, string> = { ...target.headers, 'Content-Type': 'application/x-protobuf' };
    let body = bytes;
    if (profile.gzipRequests) {
      body = zlib.gzipSync(bytes, { level: 1 });
      headers['Content-Encoding'] = 'gzip';
    }
    if (profile.acceptGzip) headers['Accept-Encoding'] = 'gzip';
    if (profile.sendInstanceUidHeader) headers['OpAMP-Instance-UID'] = instanceUidToString(this.host.instanceUid);
    this.carried = extras?.customMessage || extras?.certificateRequest ? { customMessage: extras.customMessage, certificateRequest: extras.certificateRequest } : undefined;
    const request = postOpamp(
      target.url,
      body,
      {
        headers,
        localAddress: this.localAddress,
        agent: profile.httpAgent,
        timeoutMs: profile.requestTimeoutMs,
        cert: target.clientCertificate?.certPem,
        key: target.clientCertificate?.keyPem,
        ca: profile.serverCaPem,
      },
      (err, result) => this.done(request, err, result),
    );
    this.request = request;
  }

  /** Ends the request in flight; its outcome is ignored. */
  abort(): void {
    const request = this.request;
    this.request = undefined;
    this.carried = undefined;
    request?.destroy();
  }

  private done(request: ClientRequest, err: Error | undefined, result: HttpExchangeResult | undefined): void {
    if (request !== this.request) return;
    this.request = undefined;
    const carried = this.carried;
    this.carried = undefined;
    const host = this.host;
    const stopping = !host.running;
    if (err || !result) {
      if (stopping) return host.httpStopped();
      if (err instanceof ResponseDecodeError) host.countError('decode', err.message, err.status);
      else host.httpFailed(carried, err?.message ?? 'no response');
      return host.httpSettled();
    }
    if (result.status !== 200) {
      if (stopping) return host.httpStopped();
      host.httpFailed(carried, `HTTP ${result.status}`, result.status, result.headers['retry-after']);
      return host.httpSettled();
    }
    host.httpAnswered();
    let message: opamp.proto.v1.ServerToAgent;
    try {
      message = decodeServerToAgent(result.body);
    } catch (e) {
      host.countError('decode', (e as Error).message);
      if (stopping) return host.httpStopped();
      return host.httpSettled();
    }
    if (stopping) return host.httpStopped();
    host.httpMessageReceived(message);
  }
}
